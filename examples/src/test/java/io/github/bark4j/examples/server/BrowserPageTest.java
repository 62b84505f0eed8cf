package io.github.bark4j.examples.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.bark4j.ProgressListener;
import io.github.bark4j.Stage;
import io.github.bark4j.VoicePreset;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.Select;
import org.openqa.selenium.support.ui.WebDriverWait;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.Map;

/**
 * The web page in a real browser: Debian's headless Chromium, driven by Selenium through Debian's
 * chromedriver (nothing is downloaded), types a sentence, presses Speak, and checks that the audio
 * element plays a non-empty clip without error; it saves a screenshot to target/server-page.png. Then
 * it clones voices on the page: from a chosen WAV file (exactly the library's preset) and from the
 * microphone, which Chromium fakes with a recording of the fixture, then speaks with the new voice
 * (screenshot: target/server-page-clone.png).
 */
class BrowserPageTest {
    private static final String CHROMEDRIVER = "/usr/bin/chromedriver";
    private static final String CHROMIUM = "/usr/bin/chromium";
    private static SpeechServer server;
    private static WebDriver driver;
    private static volatile long lastSegmentAt;
    private static final Path MICROPHONE = ServerTestSupport.cloneFixture().resolve("audio/rec_b_16k_mono_s16.wav")
            .toAbsolutePath().normalize();
    private static Path voicesDir;

    @BeforeAll
    static void start() throws Exception {
        assertTrue(Files.isExecutable(Path.of(CHROMEDRIVER)) && Files.isExecutable(Path.of(CHROMIUM)),
                "needs Debian's chromium and chromium-driver (apt-get install -y chromium chromium-driver; .ci/run does)");
        // a voices folder of its own (cloned voices are saved there) with the preset the first test picks
        voicesDir = Files.createTempDirectory("bark4j-browser-voices");
        Files.createDirectories(voicesDir.resolve("v2"));
        Files.copy(ServerTestSupport.voices().resolve("v2/en_speaker_6.npz"), voicesDir.resolve("v2/en_speaker_6.npz"));
        // short segments, so the sentence below streams in several pieces
        server = ServerTestSupport.startCloning(ServerTestSupport.settings().withVoices(voicesDir).withMaxSeconds(0.3)
                .withSegmentTokens(12)
                .withProgressHook(new ProgressListener() {
                    @Override
                    public void onProgress(Stage stage, int done, int total) {
                    }

                    @Override
                    public void onSegment(int done, int total) {
                        if (done == total) {
                            lastSegmentAt = System.currentTimeMillis();
                        }
                    }
                }));
        ChromeOptions options = new ChromeOptions();
        options.setBinary(CHROMIUM);
        options.addArguments("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                "--window-size=900,1000", "--autoplay-policy=no-user-gesture-required", "--mute-audio",
                // a microphone that plays the fixture's recording, allowed without asking
                "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
                "--use-file-for-fake-audio-capture=" + MICROPHONE);
        ChromeDriverService service = new ChromeDriverService.Builder().usingDriverExecutable(new File(CHROMEDRIVER))
                .usingAnyFreePort().build();
        driver = new ChromeDriver(service, options);
    }

    @AfterAll
    static void stop() throws java.io.IOException {
        if (driver != null) {
            driver.quit();
        }
        if (server != null) {
            server.close();
        }
        if (voicesDir != null) {
            try (var files = Files.walk(voicesDir)) {
                for (Path p : files.sorted(java.util.Comparator.reverseOrder()).toList()) {
                    Files.delete(p);
                }
            }
        }
    }

    @Test
    void typeSpeakAndHear() throws Exception {
        driver.get("http://127.0.0.1:" + server.port() + "/");
        WebDriverWait wait = new WebDriverWait(driver, Duration.ofSeconds(30));
        wait.until(d -> d.findElement(By.id("status")).getText().contains("ready"));
        Select voice = new Select(driver.findElement(By.id("voice")));
        voice.selectByValue("v2/en_speaker_6");
        driver.findElement(By.id("seed")).sendKeys("7");
        driver.findElement(By.id("text")).sendKeys("Hello from a real browser. Bark is speaking on the JVM."
                + " The audio plays while the rest is generated.");
        driver.findElement(By.id("speak")).click();

        JavascriptExecutor js = (JavascriptExecutor) driver;
        new WebDriverWait(driver, Duration.ofMinutes(3)).until(d -> {
            Object state = js.executeScript("return window.bark4j.state");
            return "done".equals(state) || "error".equals(state);
        });
        assertNull(js.executeScript("return window.bark4j.error"), "no error on the page");
        assertEquals("", driver.findElement(By.id("error")).getText());
        long bytes = ((Number) js.executeScript("return window.bark4j.bytes")).longValue();
        assertTrue(bytes > 0, "audio arrived: " + bytes + " bytes");
        assertNotNull(js.executeScript("return window.bark4j.firstAudioMs"), "Web Audio started playing the stream");
        long firstAudioAt = ((Number) js.executeScript("return window.bark4j.firstAudioAt")).longValue();
        assertTrue(firstAudioAt < lastSegmentAt, "the page played audio before the server had generated the last"
                + " segment (one machine, one wall clock): " + firstAudioAt + " vs " + lastSegmentAt);

        // the audio element holds the whole clip and plays it without error
        @SuppressWarnings("unchecked")
        Map<String, Object> played = (Map<String, Object>) js.executeAsyncScript(
                "const done = arguments[arguments.length - 1];"
                + "const a = document.getElementById('audio');"
                + "const report = () => done({duration: a.duration, time: a.currentTime, error: a.error && a.error.code,"
                + "  played: a.played.length});"
                + "a.play().then(() => setTimeout(report, 400)).catch(e => done({failed: String(e)}));");
        assertNull(played.get("failed"), String.valueOf(played));
        assertNull(played.get("error"), String.valueOf(played));
        assertTrue(((Number) played.get("duration")).doubleValue() > 0, String.valueOf(played));
        assertTrue(((Number) played.get("time")).doubleValue() > 0, "playback advanced: " + played);
        assertTrue(driver.findElement(By.id("download")).isDisplayed());
        assertTrue(driver.findElement(By.id("download")).getAttribute("href").startsWith("blob:"));
        assertTrue(driver.findElement(By.id("status")).getText().startsWith("Done"));

        Path shot = Path.of("target", "server-page.png");
        Files.createDirectories(shot.getParent());
        File png = ((TakesScreenshot) driver).getScreenshotAs(OutputType.FILE);
        Files.copy(png.toPath(), shot, StandardCopyOption.REPLACE_EXISTING);
        assertTrue(Files.size(shot) > 1000);

        // a request the server refuses shows its message on the page
        js.executeScript("document.getElementById('text').value = 'a'.repeat(5000)");
        driver.findElement(By.id("speak")).click();
        wait.until(d -> !d.findElement(By.id("error")).getText().isEmpty());
        assertTrue(driver.findElement(By.id("error")).getText().contains("at most 4096"),
                driver.findElement(By.id("error")).getText());
    }

    @Test
    void cloneAVoiceFromAFileAndFromTheMicrophoneThenSpeakWithIt() throws Exception {
        driver.get("http://127.0.0.1:" + server.port() + "/");
        JavascriptExecutor js = (JavascriptExecutor) driver;
        WebDriverWait wait = new WebDriverWait(driver, Duration.ofSeconds(60));
        wait.until(d -> d.findElement(By.id("status")).getText().contains("ready"));

        // a chosen file goes up unchanged: its voice is exactly the library's clone of it
        Path recA = ServerTestSupport.cloneFixture().resolve("audio/rec_a_44k_stereo_s16.wav").toAbsolutePath()
                .normalize(); // chromedriver wants a canonical path
        driver.findElement(By.id("clone-file")).sendKeys(recA.toString());
        assertEquals("rec_a_44k_stereo_s16", driver.findElement(By.id("clone-name")).getAttribute("value"),
                "the name is taken from the file");
        driver.findElement(By.id("clone-name")).clear();
        driver.findElement(By.id("clone-name")).sendKeys("from-file");
        driver.findElement(By.id("clone")).click();
        wait.until(d -> !"cloning".equals(js.executeScript("return window.bark4jClone.state")));
        assertEquals("done", js.executeScript("return window.bark4jClone.state"),
                driver.findElement(By.id("clone-error")).getText());
        ServerVoiceCloningTest.assertPreset(VoicePreset.load(ServerTestSupport.cloneFixture().resolve("rec_a_v0.npz")),
                VoicePreset.load(voicesDir.resolve("from-file.npz")), "cloned in the browser");

        // a bad name is refused on the page, before anything is sent
        driver.findElement(By.id("clone-name")).clear();
        driver.findElement(By.id("clone-name")).sendKeys("../x");
        driver.findElement(By.id("clone")).click();
        assertTrue(driver.findElement(By.id("clone-error")).getText().contains("1 to 64"),
                driver.findElement(By.id("clone-error")).getText());

        // record about two seconds from the (fake) microphone
        driver.findElement(By.id("record")).click();
        wait.until(d -> "recording".equals(js.executeScript("return window.bark4jClone.state")));
        Thread.sleep(2_500);
        driver.findElement(By.id("record")).click();
        wait.until(d -> "recorded".equals(js.executeScript("return window.bark4jClone.state")));
        double recorded = ((Number) js.executeScript("return window.bark4jClone.recordedSeconds")).doubleValue();
        assertTrue(recorded > 1.5 && recorded < 10, "recorded " + recorded + " s");
        assertEquals("", driver.findElement(By.id("clone-error")).getText());

        driver.findElement(By.id("clone-name")).clear();
        driver.findElement(By.id("clone-name")).sendKeys("my-voice");
        driver.findElement(By.id("clone")).click();
        wait.until(d -> !"cloning".equals(js.executeScript("return window.bark4jClone.state")));
        assertEquals("done", js.executeScript("return window.bark4jClone.state"),
                driver.findElement(By.id("clone-error")).getText());
        assertEquals("my-voice", new Select(driver.findElement(By.id("voice"))).getFirstSelectedOption()
                .getAttribute("value"), "the new voice is selected");
        VoicePreset mine = VoicePreset.load(voicesDir.resolve("my-voice.npz"));
        double seconds = mine.finePrompt()[0].length / 75.0;
        assertTrue(Math.abs(seconds - recorded) < 0.5, "the preset holds the recording: " + seconds + " s vs "
                + recorded + " s");
        assertTrue(driver.findElement(By.id("clone-status")).getText().contains("'my-voice'"));

        // speak with it
        driver.findElement(By.id("text")).clear();
        driver.findElement(By.id("text")).sendKeys("This is my cloned voice speaking.");
        driver.findElement(By.id("speak")).click();
        new WebDriverWait(driver, Duration.ofMinutes(3)).until(d -> {
            Object state = js.executeScript("return window.bark4j.state");
            return "done".equals(state) || "error".equals(state);
        });
        assertNull(js.executeScript("return window.bark4j.error"), "no error on the page");
        assertTrue(((Number) js.executeScript("return window.bark4j.bytes")).longValue() > 0, "audio arrived");
        @SuppressWarnings("unchecked")
        Map<String, Object> audio = (Map<String, Object>) js.executeAsyncScript(
                "const done = arguments[arguments.length - 1];"
                + "const a = document.getElementById('audio');"
                + "const report = () => done({duration: a.duration, time: a.currentTime, error: a.error && a.error.code});"
                + "a.play().then(() => setTimeout(report, 300)).catch(e => done({failed: String(e)}));");
        assertNull(audio.get("failed"), String.valueOf(audio));
        assertNull(audio.get("error"), String.valueOf(audio));
        assertTrue(((Number) audio.get("duration")).doubleValue() > 0, "the audio element got audio: " + audio);
        assertTrue(((Number) audio.get("time")).doubleValue() > 0, "and plays it: " + audio);

        Path shot = Path.of("target", "server-page-clone.png");
        Files.createDirectories(shot.getParent());
        File png = ((TakesScreenshot) driver).getScreenshotAs(OutputType.FILE);
        Files.copy(png.toPath(), shot, StandardCopyOption.REPLACE_EXISTING);
        assertTrue(Files.size(shot) > 1000);
    }
}
