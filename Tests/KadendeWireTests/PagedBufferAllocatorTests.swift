@testable import KadendeWire
import NIOCore
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// Buffers for idle connections: large ones are backed by pages of their own, resident only where written, and
/// every byte survives growth across the threshold in either direction.
@Suite struct PagedBufferAllocatorTests {
    let allocator = PagedBufferAllocator.allocator

    /// Pages of `buffer`'s storage the kernel holds in memory, by mincore(2).
    func residentPages(_ buffer: ByteBuffer) -> Int {
        buffer.withVeryUnsafeBytes { bytes -> Int in
            let page = PagedBufferAllocator.pageSize
            let start = Int(bitPattern: bytes.baseAddress!) / page * page
            let end = Int(bitPattern: bytes.baseAddress! + bytes.count)
            let pages = (end - start + page - 1) / page
            var vector = [UInt8](repeating: 0, count: pages)
            guard mincore(UnsafeMutableRawPointer(bitPattern: start), end - start, &vector) == 0 else { return -1 }
            return vector.filter { $0 & 1 == 1 }.count
        }
    }

    @Test func aLargeBufferIsResidentOnlyWhereWritten() {
        // The heap has memory that was written and freed, as a coordinator's has after a burst of handshakes:
        // malloc would hand those resident pages straight back.
        let used = malloc(32 * 1024 + 64)!
        memset(used, 1, 32 * 1024 + 64)
        free(used)
        var buffer = allocator.buffer(capacity: 2 * 16 * 1024)  // NIOSSL's plaintext buffer
        buffer.writeBytes([UInt8](repeating: 7, count: 300))
        buffer.withVeryUnsafeBytes { #expect(PagedBufferAllocator.isPaged(UnsafeMutableRawPointer(mutating: $0.baseAddress!))) }
        #expect(residentPages(buffer) == 1, "300 bytes written into 32 KiB: one page, not 9")
        buffer.writeBytes([UInt8](repeating: 8, count: 3 * PagedBufferAllocator.pageSize))
        #expect(residentPages(buffer) == 4)
    }

    @Test func smallBuffersComeFromMalloc() {
        let buffer = allocator.buffer(capacity: 512)
        buffer.withVeryUnsafeBytes { #expect(!PagedBufferAllocator.isPaged(UnsafeMutableRawPointer(mutating: $0.baseAddress!))) }
    }

    @Test func contentSurvivesGrowthAcrossTheThreshold() {
        var buffer = allocator.buffer(capacity: 64)
        let first = (0..<1000).map { UInt8(truncatingIfNeeded: $0) }
        buffer.writeBytes(first)
        // Grows from malloc to pages, then within its pages, then into larger pages.
        let second = (0..<(PagedBufferAllocator.threshold * 3)).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        buffer.writeBytes(second)
        buffer.writeBytes(second)
        buffer.withVeryUnsafeBytes { #expect(PagedBufferAllocator.isPaged(UnsafeMutableRawPointer(mutating: $0.baseAddress!))) }
        #expect(buffer.readBytes(length: first.count) == first)
        #expect(buffer.readBytes(length: second.count) == second)
        #expect(buffer.readBytes(length: second.count) == second)
        #expect(buffer.readableBytes == 0)
    }

    @Test func copiesAreIndependent() {
        var large = allocator.buffer(capacity: PagedBufferAllocator.threshold * 2)
        large.writeString("kadende")
        var copy = large
        copy.setString("KADENDE", at: copy.readerIndex)  // copy on write: a new buffer through the allocator
        #expect(large.getString(at: 0, length: 7) == "kadende")
        #expect(copy.getString(at: 0, length: 7) == "KADENDE")
    }
}
