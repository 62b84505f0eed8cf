package io.github.bark4j.examples.server;

import io.javalin.http.Context;

import jakarta.servlet.MultipartConfigElement;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.Part;

import org.eclipse.jetty.ee10.servlet.ServletContextRequest;
import org.eclipse.jetty.http.HttpException;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.Set;

/**
 * The body of {@code POST /v1/voices}: a recording and the new voice's name, sent either as
 * {@code multipart/form-data} (a {@code file} part and a {@code name} field, or {@code ?name=}) or as
 * a raw WAV body ({@code audio/wav} and its aliases, {@code application/octet-stream}) with
 * {@code ?name=}. No more than {@code maxBytes} of the body are ever read: a larger declared length is
 * refused before reading, and a body without one (chunked) is cut off at the limit.
 *
 * @param name the name as sent (checked by the caller), or null
 * @param wav the recording's bytes
 */
record VoiceUpload(String name, byte[] wav) {
    private static final Set<String> RAW_TYPES = Set.of("audio/wav", "audio/x-wav", "audio/wave", "audio/vnd.wave",
            "audio/x-pn-wav", "application/octet-stream");
    /** The longest {@code name} form field read (names have at most 64 characters). */
    private static final int MAX_NAME_FIELD_BYTES = 1024;

    /** Whether the request is a multipart form (its name is in the body, not yet read). */
    static boolean isMultipart(Context ctx) {
        return "multipart/form-data".equals(mediaType(ctx.req().getContentType()));
    }

    /**
     * Reads the upload.
     *
     * @throws ApiError 413 over the limit, 415 for another content type, 400 for a malformed form or a
     *     form without a {@code file} part
     */
    static VoiceUpload read(Context ctx, int maxBytes) throws IOException {
        HttpServletRequest req = ctx.req();
        long declared = req.getContentLengthLong();
        if (declared > maxBytes) {
            throw tooLarge(maxBytes, "The upload has " + declared + " bytes");
        }
        String type = mediaType(req.getContentType());
        if (type.equals("multipart/form-data")) {
            return multipart(ctx, maxBytes);
        }
        if (!RAW_TYPES.contains(type)) {
            throw ApiError.unsupportedMediaType("Send the recording as multipart/form-data (a 'file' part and a 'name'"
                    + " field) or as a raw WAV body (Content-Type: audio/wav) with ?name=NAME"
                    + (type.isEmpty() ? "; the request has no Content-Type." : "; got " + VoiceCatalog.shown(type)
                    + "."));
        }
        byte[] wav = req.getInputStream().readNBytes(maxBytes + 1);
        if (wav.length > maxBytes) {
            throw tooLarge(maxBytes, "The upload is larger");
        }
        return new VoiceUpload(ctx.queryParam("name"), wav);
    }

    private static VoiceUpload multipart(Context ctx, int maxBytes) throws IOException {
        HttpServletRequest req = ctx.req();
        // every part in memory: the whole body is at most maxBytes, and the library wants the bytes anyway
        req.setAttribute(ServletContextRequest.MULTIPART_CONFIG_ELEMENT,
                new MultipartConfigElement(System.getProperty("java.io.tmpdir"), maxBytes, maxBytes, maxBytes));
        Part file;
        Part nameField;
        try {
            file = req.getPart("file");
            nameField = req.getPart("name");
        } catch (ServletException | IllegalStateException | IOException | HttpException.RuntimeException e) {
            throw malformed(e, maxBytes);
        }
        if (file == null) {
            throw ApiError.badRequest("The form has no 'file' part: send the recording (a WAV file) as the form field"
                    + " 'file'.", "file", "missing_required_parameter");
        }
        String query = ctx.queryParam("name");
        String name = query;
        if (nameField != null) {
            try (InputStream in = nameField.getInputStream()) {
                name = new String(in.readNBytes(MAX_NAME_FIELD_BYTES), StandardCharsets.UTF_8);
            }
            if (query != null && !query.equals(name)) {
                throw ApiError.badRequest("The form field 'name' and ?name= differ; give the name once.", "name",
                        "invalid_voice_name");
            }
        }
        try (InputStream in = file.getInputStream()) {
            return new VoiceUpload(name, in.readNBytes(maxBytes));
        }
    }

    private static ApiError malformed(Exception e, int maxBytes) {
        String reason = null;
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof HttpException h && h.getCode() == 413
                    || t.getMessage() != null && t.getMessage().toLowerCase(Locale.ROOT).contains("exceed")) {
                return tooLarge(maxBytes, "The form is larger");
            }
            if (reason == null && t instanceof HttpException h && h.getReason() != null) {
                reason = h.getReason(); // Jetty's words for what is wrong, e.g. "bad multipart"
            }
        }
        return ApiError.badRequest("The multipart form cannot be read" + (reason == null ? ""
                : " (" + VoiceCatalog.shown(reason) + ")") + ": send a 'file' part with the WAV and a 'name' field.",
                null, "invalid_multipart");
    }

    private static ApiError tooLarge(int maxBytes, String what) {
        String limit = maxBytes % (1 << 20) == 0 ? (maxBytes >> 20) + " MB" : maxBytes + " bytes";
        return ApiError.tooLarge(what + " than the server accepts: at most " + limit + " (--max-upload-mb). Cloning"
                + " uses the last 30 s of a recording: send a shorter or lower-rate WAV.");
    }

    private static String mediaType(String contentType) {
        if (contentType == null) {
            return "";
        }
        int semi = contentType.indexOf(';');
        return (semi < 0 ? contentType : contentType.substring(0, semi)).strip().toLowerCase(Locale.ROOT);
    }
}
