/// SplitMix64: tiny, fast, and fully determined by its seed.
struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    init(seed: UInt64) { self.state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Either a seeded (reproducible) generator or the system one.
struct SimRandom: RandomNumberGenerator, Sendable {
    private var seeded: SplitMix64?
    private var system = SystemRandomNumberGenerator()

    init(seed: UInt64?) {
        self.seeded = seed.map { SplitMix64(seed: $0) }
    }

    mutating func next() -> UInt64 {
        if seeded != nil { return seeded!.next() }
        return system.next()
    }

    /// Uniform in [0, 1).
    mutating func unit() -> Double {
        Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0)
    }

    private static let alphanumerics = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789".utf8)
    private static let hexDigits = Array("0123456789abcdef".utf8)

    mutating func alphanumeric(_ count: Int) -> String {
        String(decoding: (0..<count).map { _ in SimRandom.alphanumerics[Int(next() % 62)] }, as: UTF8.self)
    }

    mutating func hex(_ count: Int) -> String {
        String(decoding: (0..<count).map { _ in SimRandom.hexDigits[Int(next() & 0xf)] }, as: UTF8.self)
    }
}
