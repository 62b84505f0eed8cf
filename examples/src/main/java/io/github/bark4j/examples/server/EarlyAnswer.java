package io.github.bark4j.examples.server;

import io.javalin.http.Context;
import jakarta.servlet.ServletInputStream;
import jakarta.servlet.http.HttpServletResponse;

import org.eclipse.jetty.ee10.servlet.ServletContextRequest;
import org.eclipse.jetty.io.EndPoint;

import java.io.IOException;
import java.nio.charset.StandardCharsets;

/**
 * Answers a request whose body the server has not read (an upload refused for its name, size or type)
 * without losing the answer. Closing a socket that still has unread bytes makes the kernel send a reset,
 * and a reset can reach the client before it has read the answer already on the wire: it then sees
 * "connection reset" or an empty response instead of the 400. So the answer is sent with
 * {@code Connection: close} and flushed, and then what the client goes on sending is read and dropped
 * for a moment (a lingering close, as Apache and nginx do) before the connection closes. A client that
 * declared more than {@link #MAX_DRAIN_BYTES} is cut at once, and one that waits for
 * {@code 100 Continue} never sends the body.
 */
final class EarlyAnswer {
    /** Bodies declared larger are not drained: the client is cut off. */
    static final long MAX_DRAIN_BYTES = 64L << 20;
    private static final long MAX_DRAIN_NANOS = 3_000_000_000L;
    private static final long DRAIN_IDLE_MILLIS = 1000;

    private EarlyAnswer() {
    }

    /** Whether the request has a body the handler has not read to its end. */
    static boolean bodyUnread(Context ctx) {
        if (ctx.req().getContentLengthLong() == 0) {
            return false;
        }
        try {
            return !ctx.req().getInputStream().isFinished();
        } catch (IllegalStateException | IOException e) {
            return false; // read through getReader(): a JSON body, read whole
        }
    }

    /** Writes {@code json} with {@code status} and the headers already set, then drains the body. */
    static void send(Context ctx, int status, String json) throws IOException {
        HttpServletResponse res = ctx.res();
        res.setStatus(status);
        res.setContentType("application/json");
        res.setHeader("Connection", "close");
        byte[] body = json.getBytes(StandardCharsets.UTF_8);
        res.setContentLength(body.length);
        res.getOutputStream().write(body);
        res.flushBuffer();
        long declared = ctx.req().getContentLengthLong();
        String expect = ctx.req().getHeader("Expect");
        if (declared > MAX_DRAIN_BYTES || expect != null && expect.equalsIgnoreCase("100-continue")) {
            return;
        }
        drain(ctx);
    }

    private static void drain(Context ctx) {
        try {
            EndPoint ep = ServletContextRequest.getServletContextRequest(ctx.req()).getConnectionMetaData()
                    .getConnection().getEndPoint();
            ep.setIdleTimeout(DRAIN_IDLE_MILLIS); // the connection closes after this answer anyway
        } catch (RuntimeException e) {
            // not on Jetty's servlet layer: the read below ends with the server's own idle timeout
        }
        long start = System.nanoTime();
        long total = 0;
        byte[] sink = new byte[64 * 1024];
        try {
            ServletInputStream in = ctx.req().getInputStream();
            for (int n; total <= MAX_DRAIN_BYTES && System.nanoTime() - start < MAX_DRAIN_NANOS
                    && (n = in.read(sink)) >= 0; ) {
                total += n;
            }
        } catch (IOException | RuntimeException e) {
            // the client stopped sending or went away: either way the answer has left
        }
    }
}
