package io.github.bark4j.examples.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.bark4j.ProgressListener;
import io.github.bark4j.Stage;

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
 * element plays a non-empty clip without error; it saves a screenshot to target/server-page.png.
 */
class BrowserPageTest {
    private static final String CHROMEDRIVER = "/usr/bin/chromedriver";
    private static final String CHROMIUM = "/usr/bin/chromium";
    private static SpeechServer server;
    private static WebDriver driver;
    private static volatile long lastSegmentAt;

    @BeforeAll
    static void start() throws Exception {
        assertTrue(Files.isExecutable(Path.of(CHROMEDRIVER)) && Files.isExecutable(Path.of(CHROMIUM)),
                "needs Debian's chromium and chromium-driver (apt-get install -y chromium chromium-driver; .ci/run does)");
        // short segments, so the sentence below streams in several pieces
        server = ServerTestSupport.startReady(ServerTestSupport.settings().withMaxSeconds(0.3).withSegmentTokens(12)
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
                "--window-size=900,760", "--autoplay-policy=no-user-gesture-required", "--mute-audio");
        ChromeDriverService service = new ChromeDriverService.Builder().usingDriverExecutable(new File(CHROMEDRIVER))
                .usingAnyFreePort().build();
        driver = new ChromeDriver(service, options);
    }

    @AfterAll
    static void stop() {
        if (driver != null) {
            driver.quit();
        }
        if (server != null) {
            server.close();
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
}
