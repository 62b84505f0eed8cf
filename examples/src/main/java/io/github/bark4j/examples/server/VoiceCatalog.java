package io.github.bark4j.examples.server;

import io.github.bark4j.BarkException;
import io.github.bark4j.GenerationOptions;
import io.github.bark4j.VoicePreset;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * The voices a request may name: the model's own presets (resolved by the library, as
 * {@code GenerationOptions.voice(String)} does), the {@code .npz} files of an optional voices folder
 * (named by their path in it without {@code .npz}), voices cloned while the server runs, and OpenAI's
 * voice names as aliases of {@code v2/en_speaker_0..9}.
 *
 * <p>The folder's presets and the cloned voices are the <em>user voices</em>: they can be replaced and
 * deleted, the model's presets and the aliases cannot. A cloned voice is saved as {@code NAME.npz} at
 * the top of the voices folder (atomically: {@link VoicePreset#save} writes a temporary file and
 * renames it), so the next server on that folder finds it; without a writable folder it lives in
 * memory until the server stops. Names of new voices match {@link #NAME}, which has no path separator
 * or dot, so a name can only ever be a file directly in the folder.
 */
final class VoiceCatalog {
    private static final Logger LOG = LoggerFactory.getLogger(VoiceCatalog.class);

    /** What a new voice may be called: 1 to 64 ASCII letters, digits, '_' and '-', not starting with '_' or '-'. */
    static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_-]{0,63}");

    /** A path of plain names, as the model's presets have ({@code v2/en_speaker_6}). */
    private static final Pattern PRESET_PATH = Pattern.compile("[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*");

    /** OpenAI's voice names, each mapped to one of Bark's ten English speakers. */
    static final Map<String, String> OPENAI_ALIASES;

    static {
        Map<String, String> m = new LinkedHashMap<>();
        String[] names = {"alloy", "ash", "ballad", "coral", "echo", "fable", "onyx", "nova", "sage", "shimmer"};
        for (int i = 0; i < names.length; i++) {
            m.put(names[i], "v2/en_speaker_" + i);
        }
        OPENAI_ALIASES = Collections.unmodifiableMap(m);
    }

    /** A resolved voice: a model preset by name, or a preset of the folder or a clone. */
    record Voice(String name, String modelPreset, VoicePreset preset) {
        void applyTo(GenerationOptions.Builder b) {
            if (modelPreset != null) {
                b.voice(modelPreset);
            } else {
                b.voice(preset);
            }
        }
    }

    private final Set<String> modelPresets;
    private final Path dir;
    private final boolean persistent;
    /** The folder's presets by name (read when first used, see {@link #loaded}). */
    private final Map<String, Path> folderPresets = new ConcurrentSkipListMap<>();
    /** Cloned voices kept in memory, when there is no writable folder. */
    private final Map<String, VoicePreset> memory = new ConcurrentSkipListMap<>();
    private final Map<String, VoicePreset> loaded = new ConcurrentHashMap<>();

    /**
     * @param voicesDir the voices folder, or null; cloned voices are saved in it when it is writable
     */
    VoiceCatalog(List<String> modelPresets, Path voicesDir) {
        this.modelPresets = new TreeSet<>(modelPresets);
        this.dir = voicesDir == null ? null : voicesDir.toAbsolutePath().normalize();
        if (dir != null) {
            folderPresets.putAll(scan(dir));
        }
        this.persistent = dir != null && Files.isWritable(dir);
        if (dir != null && !persistent) {
            LOG.warn("the voices folder {} is not writable: cloned voices are kept in memory only", dir);
        }
    }

    private static Map<String, Path> scan(Path dir) {
        if (!Files.isDirectory(dir)) {
            throw new IllegalArgumentException("--voices " + dir + " is not a folder");
        }
        Map<String, Path> out = new TreeMap<>();
        try (Stream<Path> files = Files.walk(dir)) {
            files.filter(p -> p.getFileName().toString().endsWith(".npz") && Files.isRegularFile(p)).forEach(p -> {
                String rel = dir.relativize(p).toString().replace('\\', '/');
                out.put(rel.substring(0, rel.length() - ".npz".length()), p);
            });
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list --voices " + dir, e);
        }
        return out;
    }

    /** Whether cloned voices are saved in the voices folder (false: in memory, lost when the server stops). */
    boolean persistent() {
        return persistent;
    }

    /** Every name a request may use, sorted: model presets, folder presets and cloned voices. */
    List<String> names() {
        Set<String> all = new TreeSet<>(modelPresets);
        all.addAll(folderPresets.keySet());
        all.addAll(memory.keySet());
        return new ArrayList<>(all);
    }

    /** The voices that can be replaced and deleted (the folder's and the cloned ones), sorted. */
    List<String> userVoices() {
        Set<String> all = new TreeSet<>(folderPresets.keySet());
        all.addAll(memory.keySet());
        return new ArrayList<>(all);
    }

    /** The OpenAI names that resolve here, with their targets. */
    Map<String, String> aliases() {
        Map<String, String> out = new LinkedHashMap<>();
        OPENAI_ALIASES.forEach((alias, target) -> {
            String found = find(target);
            if (found != null) {
                out.put(alias, found);
            }
        });
        return out;
    }

    /**
     * Resolves a voice name for speech.
     *
     * @throws ApiError 400 for an unknown name or an unreadable preset file
     */
    Voice resolve(String name) {
        return lookup(name).orElseThrow(() -> {
            String hint = names().isEmpty() ? "this server has no voice presets (omit voice, or start it with --voices DIR)"
                    : "see GET /v1/voices";
            return ApiError.badRequest("Unknown voice '" + shown(name) + "': " + hint + ".", "voice", "voice_not_found");
        });
    }

    /**
     * The voice a name (or an alias) stands for, or empty when there is none.
     *
     * @throws ApiError 400 when the name's preset file cannot be read
     */
    Optional<Voice> lookup(String name) {
        String found = find(OPENAI_ALIASES.getOrDefault(name, name));
        if (found == null) {
            return Optional.empty();
        }
        if (modelPresets.contains(found)) {
            return Optional.of(new Voice(found, found, null));
        }
        VoicePreset cloned = memory.get(found);
        if (cloned != null) {
            return Optional.of(new Voice(found, null, cloned));
        }
        Path file = folderPresets.get(found);
        if (file == null) {
            return Optional.empty(); // deleted meanwhile
        }
        try {
            return Optional.of(new Voice(found, null, loaded.computeIfAbsent(found, n -> VoicePreset.load(file))));
        } catch (BarkException e) {
            throw ApiError.badRequest("Voice '" + shown(name) + "' cannot be used: " + e.getMessage(), "voice",
                    "invalid_voice");
        }
    }

    /**
     * The catalog name for a requested name: exact, or (for a flat voices folder, so that
     * {@code v2/en_speaker_6} finds {@code en_speaker_6.npz}) the last part of a plain path such as a
     * model preset's name.
     */
    private String find(String name) {
        if (modelPresets.contains(name) || folderPresets.containsKey(name) || memory.containsKey(name)) {
            return name;
        }
        if (!PRESET_PATH.matcher(name).matches()) {
            return null; // no "..", no backslashes: "x/../bob" is not another name for bob
        }
        String base = name.substring(name.lastIndexOf('/') + 1);
        if (folderPresets.containsKey(base) || memory.containsKey(base)) {
            return base;
        }
        return null;
    }

    /**
     * Checks that a new voice may be called {@code name}: it matches {@link #NAME}, is neither an
     * OpenAI alias nor a model preset, and names no user voice unless {@code overwrite} (names that
     * differ only in case count as equal, so that the files stay apart on any file system).
     *
     * @return whether the voice replaces an existing one
     * @throws ApiError 400 for a bad name, 409 for a taken one
     */
    boolean checkNewName(String name, boolean overwrite) {
        if (name == null || name.isEmpty()) {
            throw ApiError.badRequest("Give the new voice a name: the form field 'name' or the query parameter"
                    + " ?name=, 1 to 64 letters, digits, '-' and '_'.", "name", "missing_required_parameter");
        }
        if (!NAME.matcher(name).matches()) {
            throw ApiError.badRequest("The voice name '" + shown(name) + "' is not allowed: use 1 to 64 ASCII"
                    + " letters, digits, '-' and '_', starting with a letter or digit (no '/', '.', spaces or"
                    + " other characters).", "name", "invalid_voice_name");
        }
        for (String alias : OPENAI_ALIASES.keySet()) {
            if (alias.equalsIgnoreCase(name)) {
                throw ApiError.conflict("'" + name + "' is one of OpenAI's voice names, which stand for the model's"
                        + " presets here; choose another name.", "name", "voice_name_reserved");
            }
        }
        for (String preset : modelPresets) {
            if (preset.equalsIgnoreCase(name)) {
                throw ApiError.conflict("'" + name + "' is a preset of the model; choose another name.", "name",
                        "voice_name_reserved");
            }
        }
        String taken = userVoices().stream().filter(v -> v.equalsIgnoreCase(name)).findFirst()
                .orElse(persistent && Files.exists(fileOf(name)) ? name : null);
        if (taken == null) {
            return false;
        }
        if (!taken.equals(name)) {
            throw ApiError.conflict("The voice '" + taken + "' exists and differs from '" + name + "' only in case;"
                    + " choose another name, or replace '" + taken + "' by that name.", "name", "voice_exists");
        }
        if (!overwrite) {
            throw ApiError.conflict("The voice '" + name + "' exists: add ?overwrite=true to replace it, or"
                    + " DELETE /v1/voices/" + name + " first.", "name", "voice_exists");
        }
        return true;
    }

    /**
     * Registers a cloned voice: saved in the voices folder when it is writable, else kept in memory.
     * The name is checked again, under this catalog's lock, so that two uploads of one name cannot
     * both win.
     *
     * @return whether it replaced an existing voice
     * @throws ApiError as {@link #checkNewName}, or 500 when the file cannot be written
     */
    synchronized boolean add(String name, VoicePreset preset, boolean overwrite) {
        boolean replaced = checkNewName(name, overwrite);
        if (!persistent) {
            memory.put(name, preset);
            return replaced;
        }
        Path file = fileOf(name);
        try {
            preset.save(file);
        } catch (BarkException | UncheckedIOException e) {
            LOG.error("cannot save the cloned voice {}: {}", name, e.getMessage());
            throw ApiError.internal("The voice was cloned but cannot be saved in the voices folder; see the server"
                    + " log.");
        }
        loaded.put(name, preset);
        folderPresets.put(name, file);
        return replaced;
    }

    /**
     * Deletes a user voice (and its file).
     *
     * @throws ApiError 403 for a model preset or an alias, 404 for an unknown name
     */
    synchronized void remove(String name) {
        if (OPENAI_ALIASES.containsKey(name)) {
            throw ApiError.forbidden("'" + name + "' is an alias of the model's preset " + OPENAI_ALIASES.get(name)
                    + " and cannot be deleted; only voices cloned here or put in the voices folder can.", null,
                    "voice_not_deletable");
        }
        if (modelPresets.contains(name)) {
            throw ApiError.forbidden("'" + name + "' is a preset of the model and cannot be deleted; only voices"
                    + " cloned here or put in the voices folder can.", null, "voice_not_deletable");
        }
        if (memory.remove(name) != null) {
            return;
        }
        Path file = folderPresets.get(name);
        if (file == null) {
            throw ApiError.notFound("There is no voice '" + shown(name) + "'; GET /v1/voices lists them.",
                    "voice_not_found");
        }
        try {
            Files.deleteIfExists(file);
        } catch (AccessDeniedException e) {
            throw ApiError.forbidden("The voice '" + name + "' is in a read-only voices folder and cannot be"
                    + " deleted.", null, "voice_not_deletable");
        } catch (IOException e) {
            LOG.error("cannot delete the voice file {}: {}", file, e.toString());
            throw ApiError.internal("The voice file cannot be deleted; see the server log.");
        }
        folderPresets.remove(name);
        loaded.remove(name);
    }

    private Path fileOf(String name) {
        Path file = dir.resolve(name + ".npz").normalize();
        if (!dir.equals(file.getParent())) { // cannot happen for a name matching NAME; guard it anyway
            throw ApiError.badRequest("The voice name is not allowed.", "name", "invalid_voice_name");
        }
        return file;
    }

    /** A name as it may be quoted in a message: printable ASCII, at most 80 characters. */
    static String shown(String name) {
        String s = name.length() > 80 ? name.substring(0, 80) + "..." : name;
        StringBuilder b = new StringBuilder(s.length());
        s.codePoints().forEach(c -> {
            if (c >= 0x20 && c < 0x7f) {
                b.appendCodePoint(c);
            } else {
                b.append(String.format(Locale.ROOT, "\\u%04x", c));
            }
        });
        return b.toString();
    }
}
