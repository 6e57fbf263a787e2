import Foundation

/// The discrete Laplace (two-sided geometric) mechanism for counts of
/// sensitivity 1 (Ghosh, Roughgarden and Sundararajan 2009): noise k with
/// P(k) proportional to exp(-epsilon * |k|), drawn as the difference of two
/// geometric variables. ε-differentially private for a count that one person changes by at most 1.
public enum DiscreteLaplace {
    public static func sample(epsilon: Double, using generator: inout some RandomNumberGenerator) -> Int {
        let alpha = exp(-epsilon)
        return geometric(alpha, using: &generator) - geometric(alpha, using: &generator)
    }

    /// Failures before the first success of trials succeeding with 1 - alpha: P(G >= k) = alpha^k.
    static func geometric(_ alpha: Double, using generator: inout some RandomNumberGenerator) -> Int {
        let uniform = Double.random(in: Double.leastNonzeroMagnitude...1, using: &generator)
        return Int(min(1_000_000, (log(uniform) / log(alpha)).rounded(.down)))
    }

    /// The variance of the noise, 2α / (1 - α)², α = e^-ε.
    public static func variance(epsilon: Double) -> Double {
        let alpha = exp(-epsilon)
        return 2 * alpha / ((1 - alpha) * (1 - alpha))
    }
}

/// SplitMix64: a small deterministic generator, seeded from a keyed hash so a
/// cell's noise can be drawn again identically (a preview shows what is sent).
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
