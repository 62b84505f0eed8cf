package io.github.bark4j.examples.server;

import static io.github.bark4j.examples.server.ServerTestSupport.rawBody;
import static io.github.bark4j.examples.server.ServerTestSupport.rawExchange;
import static io.github.bark4j.examples.server.ServerTestSupport.rawStatus;
import static io.github.bark4j.examples.server.SpeechServerTest.assertOpenAiError;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * The errors Jetty answers before any route runs (a malformed URI such as {@code /%00}, a bad header,
 * a URI or headers too long) come in the same OpenAI-shaped JSON as the routes' errors, and voice
 * uploads get a 503 while the model loads. The model never loads here: none of this needs it.
 */
class ServerProtocolErrorsTest {
    private static final CountDownLatch LOAD = new CountDownLatch(1);
    private static SpeechServer server;

    @BeforeAll
    static void start() {
        server = SpeechServer.start(ServerTestSupport.settings(), () -> {
            try {
                LOAD.await(5, TimeUnit.MINUTES);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            throw new IllegalStateException("not loaded in this test");
        });
    }

    @AfterAll
    static void stop() {
        LOAD.countDown();
        if (server != null) {
            server.close();
        }
    }

    private static String send(String request) throws Exception {
        return rawExchange(server, request.getBytes(StandardCharsets.ISO_8859_1), Duration.ofSeconds(20));
    }

    private static void assertJsonError(String answer, int status, String code) {
        assertEquals(status, rawStatus(answer), answer);
        assertTrue(answer.toLowerCase(java.util.Locale.ROOT).contains("\r\ncontent-type: application/json"), answer);
        assertOpenAiError(rawBody(answer).getBytes(StandardCharsets.UTF_8), "invalid_request_error", null, code);
    }

    @Test
    void aMalformedUriGetsJsonNotJettysHtmlPage() throws Exception {
        for (String target : new String[] {"/%00", "/v1/voices/%00", "/%2e%2e/etc/passwd", "/%zz"}) {
            // asking for HTML on purpose: Jetty's own handler would answer with its HTML page
            String answer = send("GET " + target + " HTTP/1.1\r\nHost: localhost\r\nAccept: text/html\r\n"
                    + "Connection: close\r\n\r\n");
            assertJsonError(answer, 400, "bad_request");
        }
        // a dot segment inside the path resolves (to /b): an unknown route, in JSON too
        assertJsonError(send("GET /a/%2e%2e/b HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"), 404,
                "not_found");
    }

    @Test
    void badOrOversizedHeadersAndUrisGetJson() throws Exception {
        assertJsonError(send("GET / HTTP/1.1\r\nHost: localhost\r\nBad Header: x\r\nConnection: close\r\n\r\n"), 400,
                "bad_request");
        assertJsonError(send("GET / HTTP/1.1\r\nHost: localhost\r\nX-Ctl: a\u0001b\r\nConnection: close\r\n\r\n"), 400,
                "bad_request");
        assertJsonError(send("GET /" + "a".repeat(20_000) + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"),
                414, "uri_too_long");
        assertJsonError(send("GET / HTTP/1.1\r\nHost: localhost\r\nX-Big: " + "b".repeat(20_000)
                + "\r\nConnection: close\r\n\r\n"), 431, "headers_too_large");
        assertJsonError(send("POST /v1/voices HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\nContent-Length: 7\r\n"
                + "Connection: close\r\n\r\nhello"), 400, "bad_request");
    }

    @Test
    void uploadsWhileTheModelLoadsGet503() throws Exception {
        var r = ServerTestSupport.postBytes(server, "/v1/voices?name=early", "audio/wav", new byte[1024]);
        assertEquals(503, r.statusCode());
        assertTrue(r.headers().firstValue("Retry-After").isPresent());
        assertOpenAiError(r.body(), "server_error", null, "model_loading");
        var list = ServerTestSupport.get(server, "/v1/voices");
        assertEquals(503, list.statusCode());
        var delete = ServerTestSupport.HTTP.send(java.net.http.HttpRequest.newBuilder(ServerTestSupport.uri(server,
                "/v1/voices/x")).DELETE().build(), java.net.http.HttpResponse.BodyHandlers.ofByteArray());
        assertEquals(503, delete.statusCode());
        assertOpenAiError(delete.body(), "server_error", null, "model_loading");
    }
}
