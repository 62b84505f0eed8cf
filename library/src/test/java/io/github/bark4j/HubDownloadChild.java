package io.github.bark4j;

import io.github.bark4j.internal.hub.FileDownloader;
import io.github.bark4j.internal.hub.ModelManifest;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;

/**
 * Run in a second JVM by {@link ModelHubDownloadTest}: resolves one file through a {@link ModelHub}
 * and prints {@code OK <sha256>} or {@code FAIL <message>}.
 *
 * <p>Arguments: cache folder, endpoint, manifest file, model id, relative path.
 */
final class HubDownloadChild {
    private HubDownloadChild() {}

    public static void main(String[] args) throws Exception {
        try {
            ModelManifest manifest = ModelManifest.parse(
                    Files.readString(Path.of(args[2]), StandardCharsets.UTF_8), args[2]);
            ModelHub hub = ModelHub.builder()
                    .cacheDir(Path.of(args[0]))
                    .endpoint(args[1])
                    .offline(false)
                    .retries(3, Duration.ofMillis(10), Duration.ofMillis(50))
                    .manifest(manifest)
                    .build();
            Path p = hub.resolveFile(args[3], args[4]);
            System.out.println("OK " + FileDownloader.hashFile(p, Files.size(p)));
            System.exit(0);
        } catch (RuntimeException e) {
            System.out.println("FAIL " + e);
            System.exit(1);
        }
    }
}
