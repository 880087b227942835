import NIOCore

/// A buffer that is handed to the channel (or to the filters) and taken back for the next message. Once the
/// channel has written it nobody else holds it, so `take` clears it in place and the next head is written
/// into the same memory: no allocation per message on a keep-alive connection. If someone still holds it,
/// `clear` copies on write and the result is simply a new buffer.
struct RecycledBuffer {
    private var kept: ByteBuffer?
    /// Bigger buffers are not kept: an idle connection should not sit on a large body's memory.
    static let maxKeptCapacity = 8 * 1024

    /// An empty buffer with room for at least `minimumCapacity` bytes.
    mutating func take(minimumCapacity: Int) -> ByteBuffer {
        guard var buffer = kept else { return ByteBufferAllocator().buffer(capacity: minimumCapacity) }
        kept = nil
        buffer.clear(minimumCapacity: minimumCapacity)
        return buffer
    }

    /// Remembers `buffer` for reuse after its current users let go of it.
    mutating func keep(_ buffer: ByteBuffer) {
        kept = buffer.capacity <= Self.maxKeptCapacity ? buffer : nil
    }
}
