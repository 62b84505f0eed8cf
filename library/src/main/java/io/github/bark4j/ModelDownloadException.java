package io.github.bark4j;

import java.util.Objects;

/**
 * A model file could not be made available in the local cache: the download failed, the bytes did
 * not match the expected size or SHA-256, or offline mode forbids fetching a missing file. The
 * {@link #reason()} says which; {@link #file()} and {@link #url()} name the file when known.
 */
public class ModelDownloadException extends ModelLoadException {
    private static final long serialVersionUID = 1L;

    /** Why a download failed. */
    public enum Reason {
        /** The model id is not in the models manifest. */
        UNKNOWN_MODEL,
        /** The file is not listed for the model and is not a voice preset path. */
        UNKNOWN_FILE,
        /** The server answered 404 or 410. Not retried. */
        NOT_FOUND,
        /** The server answered 401 or 403 (gated or private repository). Not retried. */
        ACCESS_DENIED,
        /** Offline mode is on and the file is not in the cache. */
        OFFLINE,
        /** The bytes did not hash to the pinned or first-seen SHA-256; the file was deleted. */
        CHECKSUM_MISMATCH,
        /** The server sent a different number of bytes than expected; the file was deleted. */
        SIZE_MISMATCH,
        /** Another HTTP status, or retries were exhausted on 5xx/429. */
        HTTP_ERROR,
        /** Network or disk error, after retries. */
        IO_ERROR,
        /** The models manifest is malformed. */
        INVALID_MANIFEST,
        /** The downloading thread was interrupted. */
        INTERRUPTED
    }

    private final Reason reason;
    private final String file;
    private final String url;

    public ModelDownloadException(Reason reason, String file, String url, String message) {
        this(reason, file, url, message, null);
    }

    public ModelDownloadException(Reason reason, String file, String url, String message, Throwable cause) {
        super(message, cause);
        this.reason = Objects.requireNonNull(reason, "reason");
        this.file = file;
        this.url = url;
    }

    /** Why it failed. */
    public Reason reason() {
        return reason;
    }

    /** The file as {@code owner/name/path}, or null when the error is not about one file. */
    public String file() {
        return file;
    }

    /** The URL the file is fetched from, or null when not known. */
    public String url() {
        return url;
    }
}
