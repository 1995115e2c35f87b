#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// glibc's malloc raises its mmap threshold each time a large block is freed (up to 32 MiB), so after the first
/// few, the big arrays of a pass over many files (listings, owned rows, statuses: megabytes each) come from the heap
/// and leave it fragmented when freed. Peak RSS of a converged `ferry plan` of 300,000 placements varied from 446 to
/// 486 MB run to run over a heap peak of 369 MB. With the threshold fixed at glibc's starting value, blocks of
/// 128 KiB and more keep their own mappings and go back to the system when freed: 422–428 MB in the same runs, with
/// the same wall and CPU time (a first apply of 20 × 50 MiB too). Setting the threshold also stops glibc's dynamic
/// adjustment of the trim threshold, which then stays at 128 KiB.
enum MallocTuning {
    static let mmapThreshold: Int32 = 128 * 1024
    /// `M_MMAP_THRESHOLD` of glibc's `<malloc.h>`, which the Glibc module does not import.
    static let mmapThresholdParameter: Int32 = -3

    /// Fixes the threshold, unless `MALLOC_MMAP_THRESHOLD_` (glibc's own setting) is in the environment.
    static func apply(environment: [String: String] = ProcessInfo.processInfo.environment) {
        #if canImport(Glibc)
        guard environment["MALLOC_MMAP_THRESHOLD_"] == nil,
            let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt")  // RTLD_DEFAULT
        else { return }
        typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
        _ = unsafeBitCast(symbol, to: Mallopt.self)(mmapThresholdParameter, mmapThreshold)
        #endif
    }
}
