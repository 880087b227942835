import PnyxCache

/// The cache's disk tier (files under `data_dir/cache`). See DiskTier+Files.swift.
public final class DiskTier: Sendable {
    public init() {}
    func keep(_ objects: [CachedObject]) {}
    func purge(where predicate: @Sendable (CacheKey) -> Bool) -> Int { 0 }
}
