package io.github.bark4j.examples.server;

import com.google.gson.JsonNull;
import com.google.gson.JsonObject;
import com.google.gson.JsonPrimitive;

/**
 * An error answered in OpenAI's shape, {@code {"error": {"message", "type", "param", "code"}}}: the
 * message is written for the client and never carries a stack trace.
 */
final class ApiError extends RuntimeException {
    private final int status;
    private final String type;
    private final String param;
    private final String code;
    private final Integer retryAfterSeconds;

    private ApiError(int status, String type, String message, String param, String code, Integer retryAfterSeconds) {
        super(message, null, false, false);
        this.status = status;
        this.type = type;
        this.param = param;
        this.code = code;
        this.retryAfterSeconds = retryAfterSeconds;
    }

    static ApiError badRequest(String message, String param, String code) {
        return new ApiError(400, "invalid_request_error", message, param, code, null);
    }

    static ApiError notFound(String message) {
        return notFound(message, "not_found");
    }

    static ApiError notFound(String message, String code) {
        return new ApiError(404, "invalid_request_error", message, null, code, null);
    }

    static ApiError tooLarge(String message) {
        return new ApiError(413, "invalid_request_error", message, null, "request_too_large", null);
    }

    static ApiError forbidden(String message, String param, String code) {
        return new ApiError(403, "invalid_request_error", message, param, code, null);
    }

    static ApiError conflict(String message, String param, String code) {
        return new ApiError(409, "invalid_request_error", message, param, code, null);
    }

    static ApiError unsupportedMediaType(String message) {
        return new ApiError(415, "invalid_request_error", message, null, "unsupported_media_type", null);
    }

    /** A feature this server was not started with (the client can do nothing but ask its operator). */
    static ApiError notEnabled(String message, String code) {
        return new ApiError(501, "invalid_request_error", message, null, code, null);
    }

    static ApiError busy(String message, String code, int retryAfterSeconds) {
        return new ApiError(429, "rate_limit_error", message, null, code, retryAfterSeconds);
    }

    /**
     * An error that Jetty found before any route ran (a malformed URI or header, a URI or headers too
     * long), with Jetty's reason in the message.
     */
    static ApiError protocol(int status, String reason) {
        String code = switch (status) {
            case 413 -> "request_too_large";
            case 414 -> "uri_too_long";
            case 431 -> "headers_too_large";
            case 505 -> "http_version_not_supported";
            default -> status >= 500 ? "server_error" : "bad_request";
        };
        String message = status >= 500 ? "The server could not handle this request (HTTP " + status + ")."
                : "The server could not read this HTTP request: " + (reason == null || reason.isBlank()
                        ? "HTTP " + status : reason) + ". Check the URL (percent-encode special characters)"
                        + " and the headers.";
        return new ApiError(status, status >= 500 ? "server_error" : "invalid_request_error", message, null, code,
                null);
    }

    static ApiError queueFull(int retryAfterSeconds) {
        return new ApiError(429, "rate_limit_error", "The server is busy: its request queue is full. Retry after "
                + retryAfterSeconds + " s.", null, "queue_full", retryAfterSeconds);
    }

    static ApiError unavailable(String message, String code) {
        return new ApiError(503, "server_error", message, null, code, 5);
    }

    static ApiError internal(String message) {
        return new ApiError(500, "server_error", message, null, "internal_error", null);
    }

    int status() {
        return status;
    }

    String type() {
        return type;
    }

    String param() {
        return param;
    }

    String code() {
        return code;
    }

    /** Seconds for a {@code Retry-After} header, or null. */
    Integer retryAfterSeconds() {
        return retryAfterSeconds;
    }

    String toJson() {
        JsonObject e = new JsonObject();
        e.addProperty("message", getMessage());
        e.addProperty("type", type);
        e.add("param", param == null ? JsonNull.INSTANCE : new JsonPrimitive(param));
        e.add("code", code == null ? JsonNull.INSTANCE : new JsonPrimitive(code));
        JsonObject root = new JsonObject();
        root.add("error", e);
        return root.toString();
    }
}
