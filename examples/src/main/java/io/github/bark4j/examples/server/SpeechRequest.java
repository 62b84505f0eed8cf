package io.github.bark4j.examples.server;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;
import com.google.gson.JsonPrimitive;

import java.math.BigDecimal;
import java.util.Set;

/**
 * One validated {@code POST /v1/audio/speech} body: OpenAI's fields ({@code model}, {@code input},
 * {@code voice}, {@code response_format}, {@code speed}, {@code instructions}, {@code stream_format})
 * plus bark4j's {@code seed}, {@code temperature}, {@code greedy} and {@code stream}. Every problem is a
 * 400 naming the field.
 */
record SpeechRequest(String model, String input, VoiceCatalog.Voice voice, AudioFormat format, Long seed,
        Double temperature, boolean greedy, boolean stream) {

    private static final Set<String> FIELDS = Set.of("model", "input", "voice", "response_format", "speed",
            "instructions", "stream_format", "seed", "temperature", "greedy", "stream");

    /** What a request is checked against. */
    record Limits(Set<String> modelIds, VoiceCatalog voices, int maxInputChars) {}

    static SpeechRequest parse(String body, Limits limits) {
        JsonElement root;
        try {
            root = JsonParser.parseString(body);
        } catch (JsonParseException | IllegalStateException e) {
            throw ApiError.badRequest("The request body is not valid JSON.", null, "invalid_json");
        }
        if (!root.isJsonObject()) {
            throw ApiError.badRequest("The request body must be a JSON object.", null, "invalid_json");
        }
        JsonObject o = root.getAsJsonObject();
        for (String key : o.keySet()) {
            if (!FIELDS.contains(key)) {
                throw ApiError.badRequest("Unrecognized request argument: " + key + ".", key, "unknown_parameter");
            }
        }
        String model = string(o, "model", true);
        if (!limits.modelIds().contains(model)) {
            throw ApiError.badRequest("The model '" + model + "' does not exist here; GET /v1/models lists "
                    + String.join(", ", limits.modelIds()) + ".", "model", "model_not_found");
        }
        String input = string(o, "input", true);
        if (input.isBlank()) {
            throw ApiError.badRequest("input is empty: give at least one word to speak.", "input", "empty_input");
        }
        if (input.length() > limits.maxInputChars()) {
            throw ApiError.badRequest("input has " + input.length() + " characters; at most "
                    + limits.maxInputChars() + " are allowed.", "input", "input_too_long");
        }
        String voiceName = string(o, "voice", false);
        VoiceCatalog.Voice voice = voiceName == null ? null : limits.voices().resolve(voiceName);
        String formatName = string(o, "response_format", false);
        AudioFormat format = AudioFormat.WAV;
        if (formatName != null) {
            format = AudioFormat.parse(formatName).orElseThrow(() -> ApiError.badRequest("response_format '"
                    + formatName + "' is not supported; supported formats: " + AudioFormat.supported() + ".",
                    "response_format", "unsupported_format"));
        }
        Double speed = number(o, "speed");
        if (speed != null && speed != 1.0) {
            throw ApiError.badRequest("speed " + speed + " is not supported: Bark speaks at its own pace; use 1.0.",
                    "speed", "unsupported_value");
        }
        String instructions = string(o, "instructions", false);
        if (instructions != null && !instructions.isBlank()) {
            throw ApiError.badRequest("instructions are not supported by Bark; put cues such as [laughs] in input.",
                    "instructions", "unsupported_value");
        }
        String streamFormat = string(o, "stream_format", false);
        if (streamFormat != null && !streamFormat.equals("audio")) {
            throw ApiError.badRequest("stream_format '" + streamFormat + "' is not supported; use 'audio'.",
                    "stream_format", "unsupported_value");
        }
        Long seed = integer(o, "seed");
        Double temperature = number(o, "temperature");
        if (temperature != null && !(temperature > 0 && temperature <= 10)) {
            throw ApiError.badRequest("temperature must be in (0, 10], got " + temperature
                    + " (use greedy for argmax decoding).", "temperature", "invalid_value");
        }
        Boolean greedy = bool(o, "greedy");
        if (Boolean.TRUE.equals(greedy) && temperature != null) {
            throw ApiError.badRequest("give either greedy or temperature, not both.", "temperature", "invalid_value");
        }
        Boolean stream = bool(o, "stream");
        return new SpeechRequest(model, input, voice, format, seed, temperature, Boolean.TRUE.equals(greedy),
                stream == null || stream);
    }

    private static JsonPrimitive primitive(JsonObject o, String key, String expected) {
        JsonElement e = o.get(key);
        if (e == null || e.isJsonNull()) {
            return null;
        }
        if (!e.isJsonPrimitive()) {
            throw wrongType(key, expected);
        }
        return e.getAsJsonPrimitive();
    }

    private static ApiError wrongType(String key, String expected) {
        return ApiError.badRequest(key + " must be " + expected + ".", key, "invalid_type");
    }

    private static String string(JsonObject o, String key, boolean required) {
        JsonPrimitive p = primitive(o, key, "a string");
        if (p == null) {
            if (required) {
                throw ApiError.badRequest("Missing required parameter: " + key + ".", key, "missing_required_parameter");
            }
            return null;
        }
        if (!p.isString()) {
            throw wrongType(key, "a string");
        }
        return p.getAsString();
    }

    private static Double number(JsonObject o, String key) {
        JsonPrimitive p = primitive(o, key, "a number");
        if (p == null) {
            return null;
        }
        if (!p.isNumber()) {
            throw wrongType(key, "a number");
        }
        double d = p.getAsDouble();
        if (!Double.isFinite(d)) {
            throw wrongType(key, "a finite number");
        }
        return d;
    }

    private static Long integer(JsonObject o, String key) {
        JsonPrimitive p = primitive(o, key, "an integer");
        if (p == null) {
            return null;
        }
        if (!p.isNumber()) {
            throw wrongType(key, "an integer");
        }
        try {
            return new BigDecimal(p.getAsString()).longValueExact();
        } catch (ArithmeticException | NumberFormatException e) {
            throw wrongType(key, "an integer in the 64-bit range");
        }
    }

    private static Boolean bool(JsonObject o, String key) {
        JsonPrimitive p = primitive(o, key, "true or false");
        if (p == null) {
            return null;
        }
        if (!p.isBoolean()) {
            throw wrongType(key, "true or false");
        }
        return p.getAsBoolean();
    }
}
