package io.github.bark4j.jmh;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/** A short description of the machine for result file names and report headers. */
final class Machine {
    private Machine() {}

    static String defaultName(int cores, String device) {
        String gpu = device != null && device.startsWith("gpu") ? "-gpu" : "";
        return "cpu" + cores + gpu;
    }

    static String describe(int cores, String device) {
        return cpuModel() + ", " + cores + " cores available, " + memoryGb() + " GB RAM; Java "
                + System.getProperty("java.version") + " (" + System.getProperty("java.vm.name") + "); device "
                + (device == null ? "engine default" : device);
    }

    static String cpuModel() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
                if (line.startsWith("model name")) {
                    return line.substring(line.indexOf(':') + 1).trim();
                }
            }
        } catch (IOException e) {
            // not Linux
        }
        return System.getProperty("os.arch");
    }

    /** The 1-minute load average (Linux), or "?". */
    static String loadAverage() {
        try {
            return Files.readString(Path.of("/proc/loadavg")).split(" ")[0];
        } catch (IOException | RuntimeException e) {
            return "?";
        }
    }

    static String memoryGb() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
                if (line.startsWith("MemTotal:")) {
                    long kb = Long.parseLong(line.replaceAll("[^0-9]", ""));
                    return String.format(Locale.ROOT, "%.0f", kb / 1024.0 / 1024.0);
                }
            }
        } catch (IOException | NumberFormatException e) {
            // not Linux
        }
        return "?";
    }
}
