import Foundation
@testable import KadendeAuth
import Testing

@Suite struct PasswordHasherTests {
    // Low cost for the tests' speed; the format carries the parameters, so verification does not depend on them.
    let hasher = PasswordHasher(logRounds: 10)

    @Test func aHashVerifiesItsPasswordAndNoOther() throws {
        let stored = try hasher.hash("correct horse battery staple")
        #expect(stored.hasPrefix("$scrypt$ln=10,r=8,p=1$"))
        #expect(!stored.contains("correct horse"))
        #expect(hasher.verify("correct horse battery staple", against: stored))
        #expect(!hasher.verify("correct horse battery stapl", against: stored))
        #expect(!hasher.verify("", against: stored))
        // A default-cost hasher verifies it too: the parameters travel with the hash.
        #expect(PasswordHasher().verify("correct horse battery staple", against: stored))
    }

    @Test func theSamePasswordHashesDifferentlyEachTime() throws {
        #expect(try hasher.hash("correct horse battery staple") != (try hasher.hash("correct horse battery staple")))
    }

    @Test(arguments: ["", "plain", "$scrypt$ln=10,r=8,p=1$AAAA$BBBB", "$scrypt$ln=40,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
                      "$bcrypt$whatever$x$y"])
    func storedValuesThatAreNotOursNeverVerify(_ stored: String) {
        #expect(!hasher.verify("correct horse battery staple", against: stored))
    }

    @Test func shortPasswordsAreRefusedWithoutBeingEchoed() {
        let refusal = #expect(throws: PasswordHasher.Refusal.self) { try hasher.hash("hunter2") }
        #expect(refusal?.description == "a password needs at least 12 characters")
        #expect(throws: PasswordHasher.Refusal.self) { try hasher.hash(String(repeating: "x", count: 2000)) }
    }
}

@Suite struct APITokenTests {
    @Test func tokensAreRecognisableAndStoredOnlyAsHashes() {
        let token = APIToken.mint()
        #expect(token.secret.hasPrefix("kdk_") && token.secret.count == 68)
        #expect(APIToken.isWellFormed(token.secret))
        #expect(token.hash == APIToken.hash(token.secret) && token.hash != token.secret && !token.hash.contains(token.secret))
        // The id names the token in lists and says nothing of its secret (it once was the secret's first characters,
        // which two tokens could share).
        #expect(token.shortID.hasPrefix("tok_") && token.shortID.count == 20 && !token.secret.contains(token.shortID.dropFirst(4)))
        #expect(Set((0..<1000).map { _ in APIToken.mint().shortID }).count == 1000)
        #expect(APIToken.mint().secret != token.secret)
        #expect(!APIToken.isWellFormed("kdk_short"))
        #expect(!APIToken.isWellFormed(token.secret.uppercased()))
        #expect(!APIToken.isWellFormed("kdt_" + token.secret.dropFirst(4)))
    }
}

@Suite struct RoleTests {
    static let viewer = Principal(user: "vera", admin: false, roles: ["a": .viewer])
    static let op = Principal(user: "otto", admin: false, roles: ["a": .operator])
    static let admin = Principal(user: "ada", admin: true, roles: [:])

    /// The whole matrix: every action, every role, in the member's cluster and in another.
    @Test func everyRoleMayDoWhatItsRoleAllowsAndNothingElsewhere() {
        let expected: [Action: (viewer: Bool, op: Bool)] = [
            .read: (true, true), .apply: (false, true), .push: (false, true), .terminate: (false, true),
            .manageCluster: (false, false), .manageUsers: (false, false),
        ]
        for action in Action.allCases {
            let row = expected[action]!
            #expect(Self.viewer.may(action, in: "a") == row.viewer, "viewer \(action)")
            #expect(Self.op.may(action, in: "a") == row.op, "operator \(action)")
            #expect(Self.admin.may(action, in: "a") && Self.admin.may(action, in: "b"), "admin \(action)")
            #expect(!Self.viewer.may(action, in: "b") && !Self.op.may(action, in: "b"), "a member of a holds nothing in b: \(action)")
        }
        #expect(Self.op.readableClusters == ["a"] && Self.admin.readableClusters == nil)
    }
}

@Suite struct LoginThrottleTests {
    let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    @Test func repeatedFailuresLockTheAccountForLongerEachTime() {
        var throttle = LoginThrottle()
        let keys = [LoginThrottle.accountKey("Ada"), LoginThrottle.addressKey("192.0.2.1")]
        for i in 0..<5 {
            #expect(throttle.lockedUntil(keys, now: t0 + Double(i)) == nil, "free failure \(i)")
            throttle.failed(keys, now: t0 + Double(i))
        }
        var now = t0 + 5
        var locks: [Double] = []
        for _ in 0..<4 {
            #expect(throttle.lockedUntil(keys, now: now) == nil)
            throttle.failed(keys, now: now)
            let until = throttle.lockedUntil(keys, now: now)!
            locks.append(until.timeIntervalSince(now))
            now = until
        }
        #expect(locks == [1, 2, 4, 8])
        // The account is locked whatever address it is tried from, and the address whatever account it tries.
        #expect(throttle.lockedUntil([LoginThrottle.accountKey("ada"), LoginThrottle.addressKey("198.51.100.7")], now: now - 1) != nil)
        #expect(throttle.lockedUntil([LoginThrottle.accountKey("bob"), LoginThrottle.addressKey("192.0.2.1")], now: now - 1) != nil)
    }

    @Test func theLockIsCappedAndASuccessClearsOnlyTheAccount() {
        var throttle = LoginThrottle()
        let account = LoginThrottle.accountKey("ada")
        let address = LoginThrottle.addressKey("192.0.2.1")
        for i in 0..<40 { throttle.failed([account, address], now: t0 + Double(i)) }
        #expect(throttle.lockedUntil([account], now: t0 + 39)! == t0 + 39 + 15 * 60)
        throttle.succeeded(account: account)
        #expect(throttle.lockedUntil([account], now: t0 + 40) == nil)
        #expect(throttle.lockedUntil([address], now: t0 + 40) != nil)
        // After an hour of quiet the count starts over.
        #expect(throttle.lockedUntil([address], now: t0 + 39 + 3601) == nil)
        throttle.failed([address], now: t0 + 39 + 3601)
        #expect(throttle.lockedUntil([address], now: t0 + 39 + 3601) == nil)
    }
}
