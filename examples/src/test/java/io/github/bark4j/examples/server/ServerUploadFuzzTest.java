package io.github.bark4j.examples.server;

import static io.github.bark4j.examples.server.ServerTestSupport.cloneFixture;
import static io.github.bark4j.examples.server.ServerTestSupport.get;
import static io.github.bark4j.examples.server.ServerTestSupport.json;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.google.gson.JsonObject;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;

/**
 * Mutation fuzzing of the upload path, in the style of the library's FileFuzzTest: WAV recordings
 * (two of the fixture's, and a 24-bit stereo file with an extra chunk written here) mutated by a seeded
 * random source, mostly in their headers, and uploaded to a cloning server as raw bodies and as forms.
 * Every answer must be a 201 clone or a 4xx in OpenAI's error shape; never a 5xx, a stack trace or a
 * dead server. {@code -Dbark4j.fuzz.uploads=N} sets the count (300 by default); a failing input is
 * saved under {@code target/fuzz-uploads/}.
 */
class ServerUploadFuzzTest {
    private static final int RUNS = Integer.getInteger("bark4j.fuzz.uploads", 300);
    private static final long[] INTS = {0, 1, -1, 2, 8, 16, 0x7f, 0x80, 0xff, 0x7fff, 0xffff, 0x7fffffffL,
            0x80000000L, 0xffffffffL, 1 << 20, 3, 0xfffe, 8_000, 192_000, 192_001, 7_999};
    private static SpeechServer server;

    @BeforeAll
    static void start() throws Exception {
        server = ServerTestSupport.startCloning(ServerTestSupport.settings().withVoices(null)
                .withCloning(new ServerSettings.Cloning(2 << 20, 10, 4, () -> { })));
    }

    @AfterAll
    static void stop() {
        if (server != null) {
            server.close();
        }
    }

    @Test
    void everyMutatedUploadIsAClonedVoiceOrA4xxInOpenAisShape() throws Exception {
        List<byte[]> seeds = new ArrayList<>();
        seeds.add(Files.readAllBytes(cloneFixture().resolve("audio/rec_b_16k_mono_s16.wav")));
        seeds.add(Files.readAllBytes(cloneFixture().resolve("audio/rec_c_48k_mono_f32.wav")));
        seeds.add(stereo24BitWithListChunk());
        Random random = new Random(20_261_207);
        Map<String, Integer> outcomes = new TreeMap<>();
        for (int i = 0; i < RUNS; i++) {
            byte[] input = mutate(seeds.get(i % seeds.size()), random);
            String name = "fuzz" + i;
            boolean form = i % 2 == 1;
            HttpResponse<byte[]> r = form ? ServerTestSupport.cloneMultipart(server, name, input)
                    : ServerTestSupport.postBytes(server, "/v1/voices?name=" + name, "audio/wav", input);
            String body = new String(r.body(), StandardCharsets.UTF_8);
            try {
                if (r.statusCode() == 201) {
                    assertEquals(name, json(r.body()).get("name").getAsString(), body);
                    var deleted = ServerTestSupport.HTTP.send(HttpRequest.newBuilder(ServerTestSupport.uri(server,
                            "/v1/voices/" + name)).DELETE().build(), HttpResponse.BodyHandlers.ofString());
                    assertEquals(200, deleted.statusCode(), deleted.body());
                    outcomes.merge("201", 1, Integer::sum);
                } else {
                    assertTrue(r.statusCode() >= 400 && r.statusCode() < 500, "a 4xx: " + r.statusCode() + " " + body);
                    JsonObject e = json(r.body()).getAsJsonObject("error");
                    assertFalse(e.get("message").getAsString().isBlank(), body);
                    assertEquals("invalid_request_error", e.get("type").getAsString(), body);
                    assertFalse(body.contains("Exception") || body.contains("\tat "), "no stack trace: " + body);
                    outcomes.merge(r.statusCode() + " " + e.get("code").getAsString(), 1, Integer::sum);
                }
            } catch (AssertionError | RuntimeException e) {
                Path saved = Path.of("target", "fuzz-uploads", "upload-" + i + ".wav");
                Files.createDirectories(saved.getParent());
                Files.write(saved, input);
                fail("upload " + i + " (" + (form ? "form" : "raw") + ", saved as " + saved + "): " + e.getMessage(), e);
            }
            if (i % 50 == 49) {
                assertEquals(200, get(server, "/healthcheck").statusCode(), "the server is up after " + (i + 1));
            }
        }
        assertEquals(200, get(server, "/healthcheck").statusCode());
        assertTrue(json(get(server, "/v1/voices").body()).getAsJsonArray("user_voices").isEmpty(), "all deleted");
        System.out.println("upload fuzz, " + RUNS + " uploads: " + outcomes);
        assertTrue(outcomes.getOrDefault("201", 0) > 0, outcomes.toString());
        assertTrue(outcomes.getOrDefault("400 invalid_audio", 0) > 0, outcomes.toString());
    }

    /** 1 to 4 mutations, four in five of them in the first 64 bytes (the RIFF, fmt and data headers). */
    private static byte[] mutate(byte[] seed, Random r) {
        byte[] d = seed;
        int steps = 1 + r.nextInt(4);
        for (int s = 0; s < steps; s++) {
            int at = d.length == 0 ? 0 : r.nextInt(10) < 8 ? r.nextInt(Math.min(64, d.length)) : r.nextInt(d.length);
            switch (r.nextInt(7)) {
                case 0 -> {
                    if (at < d.length) {
                        d = d.clone();
                        d[at] ^= (byte) (1 << r.nextInt(8));
                    }
                }
                case 1 -> {
                    long v = INTS[r.nextInt(INTS.length)];
                    d = d.clone();
                    for (int k = 0; k < 4 && at + k < d.length; k++) {
                        d[at + k] = (byte) (v >>> (8 * k));
                    }
                }
                case 2 -> {
                    int len = Math.min(1 + r.nextInt(64), d.length - at);
                    byte[] out = new byte[d.length - Math.max(0, len)];
                    System.arraycopy(d, 0, out, 0, at);
                    System.arraycopy(d, at + Math.max(0, len), out, at, out.length - at);
                    d = out;
                }
                case 3 -> {
                    byte[] ins = new byte[1 + r.nextInt(16)];
                    r.nextBytes(ins);
                    byte[] out = new byte[d.length + ins.length];
                    System.arraycopy(d, 0, out, 0, at);
                    System.arraycopy(ins, 0, out, at, ins.length);
                    System.arraycopy(d, at, out, at + ins.length, d.length - at);
                    d = out;
                }
                case 4 -> d = Arrays.copyOf(d, at); // truncated
                case 5 -> {
                    if (d.length > 40) { // a float sample made NaN or infinite, or a header word zeroed
                        int p = 44 + r.nextInt(Math.max(1, d.length - 48));
                        float f = r.nextBoolean() ? Float.NaN : Float.POSITIVE_INFINITY;
                        d = d.clone();
                        ByteBuffer.wrap(d).order(ByteOrder.LITTLE_ENDIAN).putFloat(Math.min(p, d.length - 4), f);
                    }
                }
                default -> { } // unchanged: a valid recording among the mutants
            }
        }
        return d;
    }

    /** 1.5 s of a 24-bit stereo sine pair at 22.05 kHz, with a LIST chunk between fmt and data. */
    private static byte[] stereo24BitWithListChunk() {
        int rate = 22_050;
        int frames = rate * 3 / 2;
        byte[] list = "LIST\u0008\u0000\u0000\u0000INFOtest".getBytes(StandardCharsets.ISO_8859_1);
        int data = frames * 6;
        ByteBuffer b = ByteBuffer.allocate(12 + 24 + list.length + 8 + data).order(ByteOrder.LITTLE_ENDIAN);
        b.put("RIFF".getBytes(StandardCharsets.US_ASCII)).putInt(b.capacity() - 8).put("WAVE".getBytes(
                StandardCharsets.US_ASCII));
        b.put("fmt ".getBytes(StandardCharsets.US_ASCII)).putInt(16).putShort((short) 1).putShort((short) 2)
                .putInt(rate).putInt(rate * 6).putShort((short) 6).putShort((short) 24);
        b.put(list);
        b.put("data".getBytes(StandardCharsets.US_ASCII)).putInt(data);
        for (int i = 0; i < frames; i++) {
            for (double hz : new double[] {220, 330}) {
                int v = (int) Math.round(0.4 * Math.sin(2 * Math.PI * hz * i / rate) * 8_388_607);
                b.put((byte) v).put((byte) (v >> 8)).put((byte) (v >> 16));
            }
        }
        return b.array();
    }
}
