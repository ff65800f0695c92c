@_spi(CustomByteBufferAllocator) import NIOCore
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Byte buffers for connections that sit idle most of the time, such as ten thousand agents sending a heartbeat a
/// second. TLS reserves room for whole records on every connection (NIOSSL keeps a 32 KiB plaintext buffer and a
/// 16 KiB outbound one for the connection's life) and uses the first few hundred bytes of it. From malloc that room
/// is resident: the heap hands back memory other buffers touched before. Here every buffer of `threshold` bytes or
/// more gets pages of its own from `mmap`, which the kernel backs only where they are written, and which go back to
/// the kernel when the buffer is freed. Smaller buffers still come from malloc.
public enum PagedBufferAllocator {
    public static let threshold = 16 * 1024
    public static let allocator = ByteBufferAllocator(allocate: allocate, reallocate: reallocate, deallocate: deallocate, copy: copy)

    /// Each buffer is preceded by a header: how many bytes were mapped, or 0 when it came from malloc. 16 bytes keep
    /// the buffer as aligned as malloc's.
    static let header = 16
    static let pageSize = Int(sysconf(Int32(_SC_PAGESIZE)))

    static func isPaged(_ pointer: UnsafeMutableRawPointer) -> Bool {
        (pointer - header).load(as: Int.self) > 0
    }
}

private func allocate(_ size: size_t) -> UnsafeMutableRawPointer? {
    let header = PagedBufferAllocator.header
    if size >= PagedBufferAllocator.threshold {
        let page = PagedBufferAllocator.pageSize
        let length = (size + header + page - 1) / page * page
        let mapped = mmap(nil, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
        // Out of mappings (vm.max_map_count): malloc still serves, only less frugally.
        if let mapped, mapped != MAP_FAILED {
            mapped.storeBytes(of: length, as: Int.self)
            return mapped + header
        }
    }
    guard let base = malloc(size + header) else { return nil }
    base.storeBytes(of: 0, as: Int.self)
    return base + header
}

private func deallocate(_ pointer: UnsafeMutableRawPointer) {
    let base = pointer - PagedBufferAllocator.header
    let length = base.load(as: Int.self)
    if length > 0 { munmap(base, length) } else { free(base) }
}

private func reallocate(_ pointer: UnsafeMutableRawPointer?, _ oldSize: size_t, _ newSize: size_t) -> UnsafeMutableRawPointer? {
    guard let pointer else { return allocate(newSize) }
    let header = PagedBufferAllocator.header
    let base = pointer - header
    let length = base.load(as: Int.self)
    if length == 0, newSize < PagedBufferAllocator.threshold {
        return realloc(base, newSize + header).map { $0 + header }
    }
    if length > 0, newSize + header <= length { return pointer }
    guard let moved = allocate(newSize) else { return nil }
    moved.copyMemory(from: pointer, byteCount: min(oldSize, newSize))
    deallocate(pointer)
    return moved
}

private func copy(_ destination: UnsafeMutableRawPointer, _ source: UnsafeRawPointer, _ count: size_t) {
    destination.copyMemory(from: source, byteCount: count)
}
