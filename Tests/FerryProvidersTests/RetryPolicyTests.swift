import FerryTestSupport
import Testing

@testable import FerryProviders

@Suite struct RetryAfterHeaderTests {
    private let now: Double = 784_111_777  // Sun, 06 Nov 1994 08:49:37 GMT

    /// Integer and decimal seconds become that delay.
    @Test func secondsAreRead() {
        #expect(RetryAfterHeader.parse(retryAfter: "7", retryAfterMilliseconds: nil, now: now) == .seconds(7))
        #expect(
            RetryAfterHeader.parse(retryAfter: " 0.5 ", retryAfterMilliseconds: nil, now: now) == .milliseconds(500))
        #expect(RetryAfterHeader.parse(retryAfter: "0", retryAfterMilliseconds: nil, now: now) == .zero)
    }

    /// `retry-after-ms` wins over `Retry-After` when both are present.
    @Test func millisecondsWin() {
        #expect(RetryAfterHeader.parse(retryAfter: "30", retryAfterMilliseconds: "250", now: now) == .milliseconds(250))
        // An unusable `retry-after-ms` falls back to `Retry-After`.
        #expect(RetryAfterHeader.parse(retryAfter: "3", retryAfterMilliseconds: "soon", now: now) == .seconds(3))
    }

    /// All three HTTP-date forms of RFC 9110 are accepted and measured from now.
    @Test(arguments: [
        "Sun, 06 Nov 1994 08:49:47 GMT",
        "Sunday, 06-Nov-94 08:49:47 GMT",
        "Sun Nov  6 08:49:47 1994",
    ])
    func httpDatesAreRead(value: String) {
        #expect(RetryAfterHeader.parse(retryAfter: value, retryAfterMilliseconds: nil, now: now) == .seconds(10))
    }

    /// A date in the past means "now", never a negative delay.
    @Test func pastDateIsZero() {
        let value = "Sat, 05 Nov 1994 08:49:37 GMT"
        #expect(RetryAfterHeader.parse(retryAfter: value, retryAfterMilliseconds: nil, now: now) == .zero)
    }

    /// Garbage, negative numbers and absent headers give no delay.
    @Test(arguments: ["", "soon", "-5", "Sun, 32 Nov 1994 08:49:37 GMT", "Sun, 06 Foo 1994 08:49:37 GMT", "inf"])
    func garbageIsIgnored(value: String) {
        #expect(RetryAfterHeader.parse(retryAfter: value, retryAfterMilliseconds: nil, now: now) == nil)
    }

    /// The date arithmetic agrees with a known epoch value, including a leap day.
    @Test func httpDateEpoch() {
        #expect(HTTPDate.parse("Thu, 01 Jan 1970 00:00:00 GMT") == 0)
        #expect(HTTPDate.parse("Tue, 29 Feb 2000 12:00:00 GMT") == 951_825_600)
    }
}

@Suite struct RetryPolicyTests {
    /// The backoff ceiling doubles from the base and stops at the cap.
    @Test func ceilingDoublesAndCaps() {
        let policy = RetryPolicy(baseDelay: .milliseconds(200), maxDelay: .seconds(20))
        #expect(policy.ceiling(beforeRetry: 1) == .milliseconds(200))
        #expect(policy.ceiling(beforeRetry: 2) == .milliseconds(400))
        #expect(policy.ceiling(beforeRetry: 4) == .milliseconds(1600))
        #expect(policy.ceiling(beforeRetry: 7) == .milliseconds(12_800))
        #expect(policy.ceiling(beforeRetry: 8) == .seconds(20))
        #expect(policy.ceiling(beforeRetry: 1000) == .seconds(20))
    }

    /// Full jitter: every delay lies in `0...ceiling`, and the draws spread over that range.
    @Test func jitterStaysWithinBounds() {
        let policy = RetryPolicy()
        var generator = SplitMix64(seed: 42)
        for retry in 1...10 {
            let ceiling = policy.ceiling(beforeRetry: retry)
            let delays = (0..<500).compactMap { _ in
                policy.delay(beforeRetry: retry, retryAfter: nil, using: &generator)
            }
            #expect(delays.count == 500)
            #expect(delays.allSatisfy { $0 >= .zero && $0 <= ceiling })
            // Spread: some draws in the lower and some in the upper quarter.
            #expect(delays.contains { $0 < ceiling / 4 })
            #expect(delays.contains { $0 > ceiling * 3 / 4 })
        }
    }

    /// A provider's Retry-After is used exactly; one longer than `maxRetryAfter` ends the retries.
    @Test func retryAfterIsHonouredUpToTheLimit() {
        let policy = RetryPolicy(maxRetryAfter: .seconds(60))
        var generator = SplitMix64(seed: 1)
        #expect(policy.delay(beforeRetry: 3, retryAfter: .seconds(2), using: &generator) == .seconds(2))
        #expect(policy.delay(beforeRetry: 1, retryAfter: .seconds(60), using: &generator) == .seconds(60))
        #expect(policy.delay(beforeRetry: 1, retryAfter: .seconds(61), using: &generator) == nil)
    }

    /// An upload's deadline grows with its size at the configured minimum rate.
    @Test func uploadTimeoutScalesWithSize() {
        let configuration = ProviderClientConfiguration(
            requestTimeout: .seconds(30), minimumUploadBytesPerSecond: 1 << 20
        )
        #expect(configuration.uploadTimeout(forBytes: 0) == .seconds(30))
        #expect(configuration.uploadTimeout(forBytes: 512 << 20) == .seconds(30 + 512))
    }
}
