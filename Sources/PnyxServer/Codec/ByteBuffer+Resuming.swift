import NIOCore

extension ByteBuffer {
    /// The bytes an incremental parser should read next: what it kept from the last read (`pending`, emptied
    /// here) followed by `input`. Without leftovers this is `input` itself, with no copy.
    static func resuming(_ pending: inout ByteBuffer, with input: ByteBuffer) -> ByteBuffer {
        guard pending.readableBytes > 0 else { return input }
        var buffer = pending
        pending = ByteBuffer()
        buffer.writeImmutableBuffer(input)
        return buffer
    }
}
