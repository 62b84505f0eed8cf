package io.github.bark4j.internal.hub;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParseException;
import com.google.gson.JsonParser;

import io.github.bark4j.ModelDownloadException;
import io.github.bark4j.ModelDownloadException.Reason;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * The models manifest ({@code models-manifest.json}): for each model id, the Hub repository, a pinned
 * revision and the files bark4j needs with their size and SHA-256 where known. Parsing validates
 * everything; a bad manifest is a {@link ModelDownloadException} with reason {@code INVALID_MANIFEST}.
 */
public final class ModelManifest {
    static final int SCHEMA_VERSION = 1;
    public static final String RESOURCE = "io/github/bark4j/models-manifest.json";

    private static final Pattern SHA256 = Pattern.compile("[0-9a-f]{64}");
    private static final Pattern REPO = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*");
    private static final Pattern SEGMENT = Pattern.compile("[A-Za-z0-9._-]+");

    /** One file of a model. {@code size} and {@code sha256} are null when not pinned. */
    public record FileEntry(String path, Long size, String sha256, boolean lazy, String unpinned) {
        boolean pinned() {
            return sha256 != null;
        }
    }

    /** What a model is for: the manifest's {@code kind}, {@code bark} when absent. */
    public enum Kind {
        /** A Bark text-to-speech model (Hugging Face layout). */
        BARK("bark"),
        /** A HuBERT speech encoder (Hugging Face layout): voice cloning's features. */
        HUBERT("hubert"),
        /** A HuBERT-feature-to-Bark-semantic-token quantizer ({@code .pth}): voice cloning's tokens. */
        SEMANTIC_QUANTIZER("semantic-quantizer");

        private final String name;

        Kind(String name) {
            this.name = name;
        }

        /** The manifest's spelling. */
        public String manifestName() {
            return name;
        }
    }

    /** One model: what it is, Hub repository, pinned revision, files by path (manifest order). */
    public record Model(String id, Kind kind, String repo, String revision, Map<String, FileEntry> files) {
        public List<FileEntry> eagerFiles() {
            return files.values().stream().filter(f -> !f.lazy()).toList();
        }

        public Optional<FileEntry> file(String path) {
            return Optional.ofNullable(files.get(path));
        }
    }

    private final String urlPattern;
    private final Map<String, Model> models;

    private ModelManifest(String urlPattern, Map<String, Model> models) {
        this.urlPattern = urlPattern;
        this.models = models;
    }

    public String urlPattern() {
        return urlPattern;
    }

    public Map<String, Model> models() {
        return models;
    }

    public Optional<Model> model(String id) {
        return Optional.ofNullable(models.get(id));
    }

    /** The manifest shipped in the library jar. */
    public static ModelManifest bundled() {
        // Class.getResourceAsStream: from a named module, only the module itself reads its resources
        try (InputStream in = ModelManifest.class.getResourceAsStream("/" + RESOURCE)) {
            if (in == null) {
                throw invalid("classpath:" + RESOURCE, "resource not found (is the bark4j jar complete?)");
            }
            return parse(new String(in.readAllBytes(), StandardCharsets.UTF_8), "classpath:" + RESOURCE);
        } catch (IOException e) {
            throw new ModelDownloadException(Reason.INVALID_MANIFEST, null, null,
                    "Cannot read models manifest classpath:" + RESOURCE + ": " + e.getMessage(), e);
        }
    }

    /** A manifest file, e.g. one named by {@code -Dbark4j.manifest} for a mirror or a private model. */
    public static ModelManifest load(Path file) {
        String text;
        try {
            text = Files.readString(file, StandardCharsets.UTF_8);
        } catch (IOException | java.io.UncheckedIOException e) {
            throw new ModelDownloadException(Reason.INVALID_MANIFEST, null, null,
                    "Cannot read models manifest " + file + ": " + e.getMessage(), e);
        }
        return parse(text, file.toString());
    }

    /**
     * Parses and validates a manifest.
     *
     * @param source where the text came from, for error messages
     */
    public static ModelManifest parse(String json, String source) {
        JsonObject root;
        try {
            JsonElement el = JsonParser.parseString(json);
            if (!el.isJsonObject()) {
                throw invalid(source, "top level must be a JSON object");
            }
            root = el.getAsJsonObject();
        } catch (JsonParseException e) {
            throw new ModelDownloadException(Reason.INVALID_MANIFEST, null, null,
                    "Models manifest " + source + " is not valid JSON: " + e.getMessage(), e);
        }
        JsonElement version = root.get("schemaVersion");
        if (version == null || !version.isJsonPrimitive() || !version.getAsJsonPrimitive().isNumber()) {
            throw invalid(source, "missing numeric 'schemaVersion'");
        }
        if (version.getAsDouble() != SCHEMA_VERSION) {
            throw invalid(source, "schemaVersion " + version + " is not supported (this bark4j reads "
                    + SCHEMA_VERSION + ")");
        }
        String pattern = string(root, "urlPattern", source, "manifest");
        for (String p : List.of("{endpoint}", "{repo}", "{revision}", "{path}")) {
            if (!pattern.contains(p)) {
                throw invalid(source, "urlPattern must contain " + p);
            }
        }
        JsonElement modelsEl = root.get("models");
        if (modelsEl == null || !modelsEl.isJsonObject() || modelsEl.getAsJsonObject().size() == 0) {
            throw invalid(source, "'models' must be a non-empty object");
        }
        Map<String, Model> models = new LinkedHashMap<>();
        for (Map.Entry<String, JsonElement> e : modelsEl.getAsJsonObject().entrySet()) {
            models.put(e.getKey(), parseModel(e.getKey(), e.getValue(), source));
        }
        return new ModelManifest(pattern, Collections.unmodifiableMap(models));
    }

    private static Model parseModel(String id, JsonElement el, String source) {
        String where = "model '" + id + "'";
        if (!REPO.matcher(id).matches()) {
            throw invalid(source, where + ": id must look like owner/name");
        }
        if (!el.isJsonObject()) {
            throw invalid(source, where + " must be an object");
        }
        JsonObject m = el.getAsJsonObject();
        Kind kind = Kind.BARK;
        JsonElement kindEl = m.get("kind");
        if (kindEl != null) {
            String k = kindEl.isJsonPrimitive() && kindEl.getAsJsonPrimitive().isString() ? kindEl.getAsString() : null;
            kind = Arrays.stream(Kind.values()).filter(v -> v.manifestName().equals(k)).findFirst()
                    .orElseThrow(() -> invalid(source, where + ": kind must be one of " + Arrays.stream(Kind.values())
                            .map(Kind::manifestName).toList() + ", got " + kindEl));
        }
        String repo = string(m, "repo", source, where);
        if (!REPO.matcher(repo).matches()) {
            throw invalid(source, where + ": repo '" + repo + "' must look like owner/name");
        }
        String revision = string(m, "revision", source, where);
        if (revision.isBlank() || revision.chars().anyMatch(c -> c <= ' ' || c == '\\')
                || revision.contains("..")) {
            throw invalid(source, where + ": revision '" + revision + "' is not a usable git revision");
        }
        JsonElement filesEl = m.get("files");
        if (filesEl == null || !filesEl.isJsonArray() || filesEl.getAsJsonArray().size() == 0) {
            throw invalid(source, where + ": 'files' must be a non-empty array");
        }
        Map<String, FileEntry> files = new LinkedHashMap<>();
        for (JsonElement fe : filesEl.getAsJsonArray()) {
            FileEntry f = parseFile(fe, source, where);
            if (files.put(f.path(), f) != null) {
                throw invalid(source, where + ": file '" + f.path() + "' is listed twice");
            }
        }
        if (files.values().stream().allMatch(FileEntry::lazy)) {
            throw invalid(source, where + ": every file is lazy; at least the weights must be fetched eagerly");
        }
        return new Model(id, kind, repo, revision, Collections.unmodifiableMap(files));
    }

    private static FileEntry parseFile(JsonElement el, String source, String model) {
        if (!el.isJsonObject()) {
            throw invalid(source, model + ": every file must be an object");
        }
        JsonObject f = el.getAsJsonObject();
        String path = string(f, "path", source, model + " file");
        String where = model + " file '" + path + "'";
        checkRelativePath(path, source, where);
        Long size = null;
        JsonElement sizeEl = f.get("size");
        if (sizeEl != null && !sizeEl.isJsonNull()) {
            if (!sizeEl.isJsonPrimitive() || !sizeEl.getAsJsonPrimitive().isNumber()) {
                throw invalid(source, where + ": size must be a number or null");
            }
            double d = sizeEl.getAsDouble();
            if (d < 0 || d != Math.floor(d) || d > Long.MAX_VALUE) {
                throw invalid(source, where + ": size must be a non-negative integer");
            }
            size = sizeEl.getAsLong();
        }
        String sha = null;
        JsonElement shaEl = f.get("sha256");
        if (shaEl != null && !shaEl.isJsonNull()) {
            if (!shaEl.isJsonPrimitive() || !shaEl.getAsJsonPrimitive().isString()
                    || !SHA256.matcher(shaEl.getAsString()).matches()) {
                throw invalid(source, where + ": sha256 must be 64 lowercase hex digits or null");
            }
            sha = shaEl.getAsString();
        }
        String unpinned = null;
        JsonElement unEl = f.get("unpinned");
        if (unEl != null && !unEl.isJsonNull()) {
            if (!unEl.isJsonPrimitive() || !unEl.getAsJsonPrimitive().isString() || unEl.getAsString().isBlank()) {
                throw invalid(source, where + ": 'unpinned' must be a non-empty reason");
            }
            unpinned = unEl.getAsString();
        }
        if ((size == null || sha == null) && unpinned == null) {
            throw invalid(source, where + ": size and sha256 are required unless 'unpinned' says why they are not known");
        }
        boolean lazy = false;
        JsonElement lazyEl = f.get("lazy");
        if (lazyEl != null && !lazyEl.isJsonNull()) {
            if (!lazyEl.isJsonPrimitive() || !lazyEl.getAsJsonPrimitive().isBoolean()) {
                throw invalid(source, where + ": lazy must be true or false");
            }
            lazy = lazyEl.getAsBoolean();
        }
        return new FileEntry(path, size, sha, lazy, unpinned);
    }

    /** Rejects absolute paths, backslashes, empty, dot and dot-dot segments and odd characters. */
    public static boolean isSafeRelativePath(String path) {
        if (path == null || path.isEmpty() || path.startsWith("/") || path.endsWith("/")) {
            return false;
        }
        for (String seg : path.split("/", -1)) {
            if (seg.isEmpty() || seg.equals(".") || seg.equals("..") || !SEGMENT.matcher(seg).matches()) {
                return false;
            }
        }
        return true;
    }

    private static void checkRelativePath(String path, String source, String where) {
        if (!isSafeRelativePath(path)) {
            throw invalid(source, where + ": path must be relative, '/'-separated, without '.' or '..' segments, "
                    + "using only letters, digits, '.', '_' and '-'");
        }
    }

    private static String string(JsonObject o, String key, String source, String where) {
        JsonElement el = o.get(key);
        if (el == null || !el.isJsonPrimitive() || !el.getAsJsonPrimitive().isString()) {
            throw invalid(source, where + ": missing string '" + key + "'");
        }
        return el.getAsString();
    }

    private static ModelDownloadException invalid(String source, String what) {
        return new ModelDownloadException(Reason.INVALID_MANIFEST, null, null,
                "Models manifest " + source + " is invalid: " + what);
    }
}
