import FerryEngine
import Testing

/// The pure part of upload progress: sizes, rates, durations, and at most one line per 10 % step.
@Suite("Upload progress rendering")
struct TransferMeterTests {
    @Test func formatsSizesRatesAndDurations() {
        #expect(TransferText.bytes(913) == "913 B")
        #expect(TransferText.bytes(512 << 10) == "512 KiB")
        #expect(TransferText.bytes(20 << 20) == "20.0 MiB")
        #expect(TransferText.bytes(3 << 29) == "1.50 GiB")
        #expect(TransferText.rate(6.3 * 1_048_576) == "6.3 MiB/s")
        #expect(TransferText.rate(.infinity) == "0 B/s")
        #expect(TransferText.duration(0.4) == "0s")
        #expect(TransferText.duration(42) == "42s")
        #expect(TransferText.duration(185) == "3m05s")
        #expect(TransferText.duration(7620) == "2h07m")
    }

    /// 20 MiB at 4 MiB/s: rate and time left from the bytes and times handed in.
    @Test func rateAndTimeLeft() {
        var meter = TransferMeter(total: 20 << 20, started: 100)
        #expect(meter.rate == nil)
        #expect(meter.line(name: "big") == "big: 0% 0 B of 20.0 MiB")
        meter.update(sent: 8 << 20, at: 102)
        #expect(meter.percent == 40)
        #expect(meter.rate == Double(4 << 20))
        #expect(meter.eta == 3)
        #expect(meter.line(name: "big") == "big: 40% 8.0 MiB of 20.0 MiB, 4.0 MiB/s, 3s left")
        meter.update(sent: 20 << 20, at: 105)
        #expect(meter.line(name: "big") == "big: 100% 20.0 MiB of 20.0 MiB, 4.0 MiB/s, 5s in all")
    }

    /// The rate follows the last few seconds, so a stall shows as a falling rate and a growing time left.
    @Test func rateFollowsRecentSeconds() {
        var meter = TransferMeter(total: 100 << 20, started: 0)
        for second in 1...10 { meter.update(sent: Int64(second) << 20, at: Double(second)) }
        #expect(meter.rate == Double(1 << 20))
        for second in 11...16 { meter.update(sent: 10 << 20, at: Double(second)) }
        #expect(meter.rate == 0)
        #expect(meter.eta == nil)
    }

    /// Hundreds of updates, a retry that starts over, and still one line per 10 % step, ending at 100 %.
    @Test func oneLinePerTenPercent() {
        var meter = TransferMeter(total: 1000, started: 0)
        var steps: [Int] = []
        for sent in stride(from: 0, through: 600, by: 7) {
            meter.update(sent: Int64(sent), at: Double(sent))
            if let step = meter.nextStep() { steps.append(step) }
        }
        // A retried request starts over: no step is announced twice.
        for sent in Array(stride(from: 0, through: 1000, by: 3)) + [1000] {
            meter.update(sent: Int64(sent), at: 600 + Double(sent))
            if let step = meter.nextStep() { steps.append(step) }
        }
        #expect(steps == [10, 20, 30, 40, 50, 60, 70, 80, 90, 100])
        #expect(meter.nextStep() == nil)
    }

    @Test func smallUploadsShowNothing() {
        #expect(!TransferMeter.shows(bytes: (8 << 20) - 1))
        #expect(TransferMeter.shows(bytes: 8 << 20))
    }
}
