package io.github.bark4j;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.bark4j.testing.SharedFiles;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;

import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;

/**
 * bark4j as a modular application uses it: an application module that {@code requires
 * io.github.bark4j}, compiled and run on the module path in a child JVM, builds a Synthesizer on the
 * fixture and speaks; the implementation packages are closed to it at compile time and at run time.
 */
class ModularApplicationTest {
    /** Test-only jars of this JVM's class path; everything else is a runtime dependency of the library. */
    private static final Pattern TEST_ONLY = Pattern.compile(
            "junit|opentest4j|apiguardian|jazzer|archunit|test-classes|surefire");
    /** DJL's native-library jar declares an automatic module name with a hyphen, so it stays on the class path. */
    private static final Pattern CLASS_PATH_ONLY = Pattern.compile("pytorch-native-cpu");

    @TempDir
    Path tmp;

    @Test
    void aModularApplicationSpeaksThroughTheApiAlone() throws Exception {
        Path src = write("app/module-info.java", "module demo.app { requires io.github.bark4j; }");
        write("app/demo/app/Main.java", """
                package demo.app;

                import io.github.bark4j.GenerationOptions;
                import io.github.bark4j.Speech;
                import io.github.bark4j.Synthesizer;
                import java.nio.file.Path;

                public final class Main {
                    public static void main(String[] args) throws Exception {
                        try (Synthesizer s = Synthesizer.builder().modelDir(Path.of(args[0])).build()) {
                            Speech speech = s.generate("Hello from a module.",
                                    GenerationOptions.builder().greedy().maxSemanticSeconds(0.3).build());
                            System.out.println("SPOKE " + speech.samples().length + " " + speech.sampleRate()
                                    + " " + s.attention() + " " + s.nativeStep());
                        }
                        Class<?> internal = Class.forName("io.github.bark4j.internal.model.Logits");
                        try {
                            internal.getMethod("argmax", double[].class, int.class, int.class)
                                    .invoke(null, new double[] {1}, 0, 1);
                            System.out.println("OPEN");
                        } catch (IllegalAccessException e) {
                            System.out.println("ENCAPSULATED");
                        } catch (ReflectiveOperationException | RuntimeException e) {
                            System.out.println("OPEN (" + e + ")");
                        }
                    }
                }
                """);
        Path classes = tmp.resolve("out");
        assertEquals("", compile(src.getParent(), classes), "the application compiles against the module");

        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java")
                .toString(), "-Dai.djl.offline=true", "--module-path", modulePath(classes), "--class-path",
                classPathOnly(), "-m", "demo.app/demo.app.Main",
                SharedFiles.tinyBark().toString()));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        p.getInputStream().transferTo(out);
        assertTrue(p.waitFor(3, TimeUnit.MINUTES), "the application finished");
        String log = out.toString(StandardCharsets.UTF_8);
        assertEquals(0, p.exitValue(), log);
        assertTrue(log.matches("(?s).*SPOKE [1-9][0-9]* 24000 SDPA true.*"),
                "spoke with the library's fast path, the native bridge loaded from the module: " + log);
        assertTrue(log.contains("ENCAPSULATED"), "internal packages are closed at run time: " + log);
        assertFalse(log.contains("OPEN"), log);
    }

    @Test
    void internalPackagesAreNotVisibleToApplications() throws Exception {
        Path src = write("bad/module-info.java", "module demo.bad { requires io.github.bark4j; }");
        write("bad/demo/bad/Main.java", """
                package demo.bad;

                public final class Main {
                    io.github.bark4j.internal.pipeline.Pipeline pipeline;
                }
                """);
        String errors = compile(src.getParent(), tmp.resolve("bad-out"));
        assertTrue(errors.contains("io.github.bark4j.internal.pipeline") && errors.contains("not visible"),
                "javac refuses the internal package: " + errors);
    }

    private Path write(String relative, String text) throws IOException {
        Path file = tmp.resolve(relative);
        Files.createDirectories(file.getParent());
        return Files.writeString(file, text);
    }

    /** Compiles a module source folder; returns javac's error output ("" when it compiled). */
    private static String compile(Path sourceDir, Path out) throws IOException, URISyntaxException {
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        List<String> args = new ArrayList<>(List.of("-d", out.toString(), "--module-path", modulePath(null)));
        try (var files = Files.walk(sourceDir)) {
            files.filter(f -> f.toString().endsWith(".java")).forEach(f -> args.add(f.toString()));
        }
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int code = javac.run(null, null, err, args.toArray(String[]::new));
        String text = err.toString(StandardCharsets.UTF_8);
        return code == 0 ? "" : text.isEmpty() ? "javac failed" : text;
    }

    /** The library's classes (an exploded module), its dependencies, and {@code extra} if not null. */
    private static String modulePath(Path extra) throws URISyntaxException {
        List<String> entries = new ArrayList<>();
        if (extra != null) {
            entries.add(extra.toString());
        }
        entries.add(Path.of(Synthesizer.class.getProtectionDomain().getCodeSource().getLocation().toURI()).toString());
        for (String e : System.getProperty("java.class.path").split(File.pathSeparator)) {
            if (e.endsWith(".jar") && !TEST_ONLY.matcher(e).find() && !CLASS_PATH_ONLY.matcher(e).find()) {
                entries.add(e);
            }
        }
        return String.join(File.pathSeparator, entries);
    }

    private static String classPathOnly() {
        List<String> entries = new ArrayList<>();
        for (String e : System.getProperty("java.class.path").split(File.pathSeparator)) {
            if (CLASS_PATH_ONLY.matcher(e).find()) {
                entries.add(e);
            }
        }
        return String.join(File.pathSeparator, entries);
    }
}
