package io.github.bark4j;

/**
 * Receives progress of model downloads. Files already in the cache produce no events. Methods may
 * be called from the downloading thread, one file at a time per thread; implementations should
 * return quickly and must not throw. {@code file} is {@code owner/name/path}, for example
 * {@code suno/bark-small/pytorch_model.bin}.
 */
public interface DownloadListener {

    /** A listener that ignores every event. */
    DownloadListener NONE = new DownloadListener() {};

    /**
     * A download starts or resumes.
     *
     * @param totalBytes the file size, or -1 when unknown
     */
    default void onStart(String file, long totalBytes) {}

    /**
     * Bytes arrived. Called at most about once per megabyte.
     *
     * @param bytesDone bytes of the file now on disk, resumed bytes included
     * @param totalBytes the file size, or -1 when unknown
     */
    default void onProgress(String file, long bytesDone, long totalBytes) {}

    /** The file was verified and moved into the cache. */
    default void onComplete(String file, String sha256) {}

    /**
     * Something the user should know: a retry, a resumed download, or a file whose SHA-256 was not
     * pinned and was recorded on first use.
     */
    default void onNotice(String message) {}
}
