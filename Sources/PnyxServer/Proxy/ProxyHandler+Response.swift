import NIOCore
import NIOHTTP1
import PnyxCore

/// Writing responses to the client: HTTP/1 bytes (framing, coalescing) or HTTP/2 parts, and local answers.
extension ProxyHandler {
    // MARK: responses

    /// Sets the response version, framing and connection headers for the client's protocol.
    /// Returns the body length the head announces (`Content-Length`), if any.
    @discardableResult
    func prepare(_ head: inout ResponseHead, for exchange: Exchange) -> Int? {
        if facts.isHTTP2 {
            exchange.framing = .raw
            return nil
        }
        let contentLength = head.headers.firstInteger(name: "content-length")
        let requestHead = exchange.head
        let version: HTTPVersion = requestHead.version == .http1_0 ? .http1_0 : .http1_1
        if head.version != version { head.version = version }  // setting it unconditionally copies the head
        let code = head.status.code
        if requestHead.method == .HEAD || code == 204 || code == 304 || code < 200 {
            exchange.framing = .none
        } else if contentLength != nil || head.headers.contains(name: "content-length") {
            exchange.framing = .raw
        } else if requestHead.version == .http1_1 {
            head.headers.add(literalName: "transfer-encoding", literalValue: "chunked")
            exchange.framing = .chunked
        } else {
            // An HTTP/1.0 client and no length: the body ends when the connection closes.
            exchange.framing = .raw
            exchange.keepAlive = false
        }
        if !exchange.keepAlive {
            head.headers.replaceOrAdd(name: "connection", value: "close")
        } else if requestHead.version == .http1_0 {
            head.headers.replaceOrAdd(name: "connection", value: "keep-alive")
        }
        return contentLength
    }

    /// - Parameter bodyLength: the announced body length; a small body is gathered into the head's buffer.
    func writeHead(_ head: ResponseHead, bodyLength: Int?, context: ChannelHandlerContext) {
        if facts.isHTTP2 {
            context.write(wrapOutboundOut(.head(head.httpResponseHead)), promise: nil)
            clientUnflushed = true
        } else {
            timeouts?.responseStarted()
            writePending(context: context)
            var extra = 0
            if let bodyLength, bodyLength <= Self.coalesceLimit { extra = bodyLength }
            var out = outputBuffer.take(minimumCapacity: HTTP1Serializer.responseHeadSize(head) + extra)
            HTTP1Serializer.writeResponseHead(head, into: &out)
            pendingOutput = out
        }
    }

    func writeBody(_ body: ByteBuffer, exchange: Exchange, context: ChannelHandlerContext) {
        if facts.isHTTP2 {
            context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
            clientUnflushed = true
            return
        }
        let size = body.readableBytes
        switch exchange.framing {
        case .none:
            break
        case .raw:
            if var out = pendingOutput, size <= Self.coalesceLimit {
                pendingOutput = nil
                out.writeImmutableBuffer(body)
                pendingOutput = out
            } else {
                writePending(context: context)
                context.write(NIOAny(IOData.byteBuffer(body)), promise: nil)
                clientUnflushed = true
            }
        case .chunked:
            guard size > 0 else { return }
            if var out = pendingOutput, size <= Self.coalesceLimit {
                pendingOutput = nil
                out.writeString(String(size, radix: 16))
                out.writeCRLF()
                out.writeImmutableBuffer(body)
                out.writeCRLF()
                pendingOutput = out
            } else {
                writePending(context: context)
                context.write(NIOAny(IOData.byteBuffer(HTTP1Serializer.chunkHeader(size, allocator: allocator))), promise: nil)
                context.write(NIOAny(IOData.byteBuffer(body)), promise: nil)
                context.write(NIOAny(IOData.byteBuffer(HTTP1Serializer.crlf)), promise: nil)
                clientUnflushed = true
            }
        }
    }

    /// Hands gathered response bytes to the channel (without flushing).
    func writePending(context: ChannelHandlerContext) {
        if let out = pendingOutput {
            pendingOutput = nil
            outputBuffer.keep(out)
            context.write(NIOAny(IOData.byteBuffer(out)), promise: nil)
            clientUnflushed = true
        }
    }

    /// Writes the end of the response and flushes; `promise` completes when everything is on the wire.
    func writeEnd(exchange: Exchange, context: ChannelHandlerContext, promise: EventLoopPromise<Void>?) {
        clientUnflushed = false
        if facts.isHTTP2 {
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: promise)
            return
        }
        if exchange.framing == .chunked {
            if var out = pendingOutput {
                pendingOutput = nil
                out.writeStaticString("0\r\n\r\n")
                pendingOutput = out
            } else {
                pendingOutput = HTTP1Serializer.lastChunk
            }
        }
        if let out = pendingOutput {
            pendingOutput = nil
            outputBuffer.keep(out)
            context.writeAndFlush(NIOAny(IOData.byteBuffer(out)), promise: promise)
        } else if let promise {
            // An empty write completes after everything before it is on the wire.
            context.writeAndFlush(NIOAny(IOData.byteBuffer(ByteBuffer())), promise: promise)
        } else {
            context.flush()
        }
    }

    func respondLocally(_ exchange: Exchange, _ response: LocalResponse, runResponseFilters: Bool) {
        guard let context else { return }
        exchange.phase = .local
        exchange.buffered.removeAll()
        // A request body that has not been read would have to be drained: close instead. A body-less request's
        // `end` part is simply ignored when it arrives, and the connection stays open.
        if !exchange.requestEnded && exchange.head.announcesBody { exchange.keepAlive = false }
        var head = ResponseHead(status: response.status, headers: HeaderBlock(response.headers))
        head.headers.replaceOrAdd(name: "content-length", value: String(response.body.readableBytes))
        if runResponseFilters { exchange.snapshot.chain.response(exchange, head: &head) }
        let bodyLength = prepare(&head, for: exchange)
        exchange.status = Int(head.status.code)
        exchange.responseStarted = true
        writeHead(head, bodyLength: bodyLength, context: context)
        if response.body.readableBytes > 0 && exchange.head.method != .HEAD {
            exchange.responseBodyBytes = Int64(response.body.readableBytes)
            writeBody(response.body, exchange: exchange, context: context)
        }
        endResponse(exchange, context: context)
    }

    /// Writes the end of the response, closes (or lingers) when the connection cannot be reused, and finishes.
    func endResponse(_ exchange: Exchange, context: ChannelHandlerContext) {
        let close = !exchange.keepAlive
        let linger = close && !exchange.requestEnded && !facts.isHTTP2 && exchange.head.announcesBody
        exchange.responseEnded = true
        if linger {
            discardingBody = true
            lingerBytes = 0
            writeEnd(exchange: exchange, context: context, promise: nil)
            let channel = context.channel
            lingerTimer = context.eventLoop.scheduleTask(in: Self.lingerTime) { channel.close(promise: nil) }
        } else if close {
            let channel = context.channel
            let promise = context.eventLoop.makePromise(of: Void.self)
            writeEnd(exchange: exchange, context: context, promise: promise)
            promise.futureResult.whenComplete { _ in channel.close(promise: nil) }
        } else {
            writeEnd(exchange: exchange, context: context, promise: nil)
        }
        finish(exchange, notifyTimeouts: !close)
    }

}
