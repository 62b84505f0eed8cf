package io.github.bark4j.examples.server;

import jakarta.servlet.http.HttpServletRequest;

import org.eclipse.jetty.ee10.servlet.ServletContextRequest;
import org.eclipse.jetty.io.EndPoint;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.util.BufferUtil;

import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * Notices that a client went away while its request waits or generates. Jetty reports the failure of
 * an HTTP/2 stream to a failure listener, but for HTTP/1.1 it does not read the connection while a
 * handler runs, so a closed socket goes unseen until the next write; the watch therefore also reads
 * the connection without blocking: end of stream means the client closed it. (A client that sends
 * more bytes before its answer is complete, such as a pipelined request, is no longer watched.)
 */
final class ClientWatch {
    private final EndPoint endPoint;
    private volatile boolean failed;
    private boolean readable = true;

    ClientWatch(HttpServletRequest req, Runnable onFailure) {
        EndPoint ep = null;
        try {
            Request core = ServletContextRequest.getServletContextRequest(req);
            core.addFailureListener(t -> {
                failed = true;
                onFailure.run();
            });
            ep = core.getConnectionMetaData().getConnection().getEndPoint();
        } catch (RuntimeException e) {
            // not on Jetty's servlet layer: only failed writes will tell
        }
        this.endPoint = ep;
    }

    /** True once the client has closed its side of the connection. */
    boolean clientGone() {
        if (failed) {
            return true;
        }
        if (endPoint == null || !readable) {
            return false;
        }
        if (!endPoint.isOpen()) {
            return true;
        }
        try {
            ByteBuffer probe = BufferUtil.allocate(1);
            int n = endPoint.fill(probe);
            if (n > 0) {
                readable = false; // the client is talking: leave the connection to Jetty
            }
            return n < 0;
        } catch (IOException e) {
            return true;
        }
    }
}
