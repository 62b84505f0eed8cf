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
        return new ApiError(404, "invalid_request_error", message, null, "not_found", null);
    }

    static ApiError tooLarge(String message) {
        return new ApiError(413, "invalid_request_error", message, null, "request_too_large", null);
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
