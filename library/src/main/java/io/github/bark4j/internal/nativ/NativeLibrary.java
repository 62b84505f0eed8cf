package io.github.bark4j.internal.nativ;

import ai.djl.engine.Engine;

import org.bytedeco.javacpp.Loader;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * Loads bark4j's JavaCPP native bridge into the libtorch DJL has already loaded, once, and says
 * whether it is usable. The ops live in {@link NativeOps} (tensor ops), {@code NativeGpt} (the
 * native decode step) and {@link NativeKernels} (the small-batch matmul kernels).
 *
 * <p>The bridge is compiled for linux-x86_64 against the ABI of libtorch {@value #LIBTORCH_VERSION}.
 * {@link #isAvailable()} is false (and the reason is logged once) on any other platform or
 * libtorch version, when the build skipped the bridge, when the loaded libtorch lacks a symbol the
 * bridge calls, or when the bridge would bring its own OpenMP runtime (a second thread pool).
 */
public final class NativeLibrary {

    private static final Logger logger = LoggerFactory.getLogger(NativeLibrary.class);

    static final String LIBTORCH_VERSION = "2.7.1";

    /** Where JavaCPP's build puts the bridge, relative to this package in the jar. */
    static final String BRIDGE_RESOURCE = "linux-x86_64/libjniNativeOpsBridge.so";

    /**
     * The libtorch functions the bridge calls, by mangled name (libtorch 2.7.1, Itanium ABI).
     * Must list exactly what the bridge's headers declare; a test checks the built bridge against
     * this list.
     */
    static final List<String> REQUIRED_SYMBOLS =
            List.of(
                    // at::_ops::scaled_dot_product_attention::call(Tensor const&, Tensor const&,
                    //   Tensor const&, optional<Tensor> const&, double, bool, optional<double>, bool)
                    "_ZN2at4_ops28scaled_dot_product_attention4callERKNS_6TensorES4_S4_RKSt8optionalIS2_EdbS5_IdEb",
                    // at::_ops::conv_transpose1d::call(Tensor const&, Tensor const&,
                    //   optional<Tensor> const&, ArrayRef<SymInt> x3, SymInt, ArrayRef<SymInt>)
                    "_ZN2at4_ops16conv_transpose1d4callERKNS_6TensorES4_RKSt8optionalIS2_EN3c108ArrayRefINS9_6SymIntEEESC_SC_SB_SC_",
                    // float* at::TensorBase::data_ptr<float>() const
                    "_ZNK2at10TensorBase8data_ptrIfEEPT_v",
                    // double* at::TensorBase::data_ptr<double>() const
                    "_ZNK2at10TensorBase8data_ptrIdEEPT_v",
                    // c10::BFloat16* at::TensorBase::data_ptr<c10::BFloat16>() const
                    "_ZNK2at10TensorBase8data_ptrIN3c108BFloat16EEEPT_v",
                    // at::_ops::linear::call(Tensor const&, Tensor const&, optional<Tensor> const&)
                    "_ZN2at4_ops6linear4callERKNS_6TensorES4_RKSt8optionalIS2_E",
                    // at::_ops::_to_copy::call(Tensor const&, optional<ScalarType>, optional<Layout>,
                    //   optional<Device>, optional<bool>, bool, optional<MemoryFormat>)
                    "_ZN2at4_ops8_to_copy4callERKNS_6TensorESt8optionalIN3c1010ScalarTypeEES5_INS6_6LayoutEES5_INS6_6DeviceEES5_IbEbS5_INS6_12MemoryFormatEE",
                    // at::_ops::linear_out::call(Tensor const&, Tensor const&, optional<Tensor> const&, Tensor&)
                    "_ZN2at4_ops10linear_out4callERKNS_6TensorES4_RKSt8optionalIS2_ERS2_",
                    // at::_ops::empty_memory_format::call(ArrayRef<SymInt>, optional<ScalarType>,
                    //   optional<Layout>, optional<Device>, optional<bool>, optional<MemoryFormat>)
                    "_ZN2at4_ops19empty_memory_format4callEN3c108ArrayRefINS2_6SymIntEEESt8optionalINS2_10ScalarTypeEES6_INS2_6LayoutEES6_INS2_6DeviceEES6_IbES6_INS2_12MemoryFormatEE",
                    // at::_ops::copy_::call(Tensor&, Tensor const&, bool)
                    "_ZN2at4_ops5copy_4callERNS_6TensorERKS2_b",
                    // int at::get_num_threads()
                    "_ZN2at15get_num_threadsEv",
                    // at::Context& at::globalContext()
                    "_ZN2at13globalContextEv",
                    // void at::Context::setUserEnabledNNPACK(bool)
                    "_ZN2at7Context20setUserEnabledNNPACKEb",
                    // bool at::Context::userEnabledNNPACK() const
                    "_ZNK2at7Context17userEnabledNNPACKEv");

    private NativeLibrary() {}

    /** Whether the native bridge is loaded and usable; loads it on first call. */
    public static boolean isAvailable() {
        return State.AVAILABLE;
    }

    /** Why the bridge is not available, or {@code null} when it is. */
    public static String unavailableReason() {
        return State.REASON;
    }

    /** Throws {@link IllegalStateException} with the reason when the bridge is not available. */
    public static void requireAvailable() {
        if (!State.AVAILABLE) {
            throw new IllegalStateException("bark4j native ops unavailable: " + State.REASON);
        }
    }

    /** Loads the bridge once, on first use, after DJL's PyTorch engine. */
    private static final class State {
        private static final String NOT_BUILT = "the bridge was not built";
        private static final String OTHER_PLATFORM = "the bridge is only built for linux-x86_64";

        static final boolean AVAILABLE;
        static final String REASON;

        static {
            String reason;
            try {
                reason = load();
            } catch (Throwable t) { // never let a failed load take the caller down
                reason = "loading the native bridge failed: " + t;
            }
            AVAILABLE = reason == null;
            REASON = reason;
            if (AVAILABLE) {
                logger.info(
                        "bark4j native ops: using the JavaCPP bridge on libtorch {}"
                                + " (fused attention, conv_transpose1d, small-batch kernels"
                                + " on {} threads, native decode step)",
                        LIBTORCH_VERSION, NativeOpsBridge.poolThreads());
            } else if (reason.startsWith(NOT_BUILT) || reason.startsWith(OTHER_PLATFORM)) {
                logger.info("bark4j native ops unavailable, using pure-DJL fallbacks: {}", reason);
            } else {
                logger.warn("bark4j native ops unavailable, using pure-DJL fallbacks: {}", reason);
            }
        }

        private State() {}

        /** Returns null when the bridge is loaded, else why not. */
        private static String load() throws IOException {
            String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
            String arch = System.getProperty("os.arch", "").toLowerCase(Locale.ROOT);
            if (!os.startsWith("linux") || !(arch.equals("amd64") || arch.equals("x86_64"))) {
                return OTHER_PLATFORM + ", this is " + os + "-" + arch;
            }
            if (NativeLibrary.class.getResource(BRIDGE_RESOURCE) == null) {
                return NOT_BUILT + " into this jar (bark4j.native.skip?): "
                        + BRIDGE_RESOURCE + " not found";
            }
            Engine engine = Engine.getEngine("PyTorch"); // loads DJL's libtorch first
            String version = engine.getVersion();
            if (!LIBTORCH_VERSION.equals(version)) {
                return "the bridge is built for libtorch " + LIBTORCH_VERSION
                        + " but DJL loaded libtorch " + version;
            }
            Path libtorch = loadedLibrary("libtorch_cpu.so");
            if (libtorch == null) {
                return "libtorch_cpu.so is not mapped into this process";
            }
            Set<String> missing = missingSymbols(libtorch);
            if (!missing.isEmpty()) {
                return libtorch + " lacks symbols the bridge calls: " + missing;
            }
            Loader.load(NativeOpsBridge.class);
            // libtorch's libgomp has the soname libgomp.so.1, so the bridge's libgomp.so.1 binds
            // to it; a different file here would be a second OpenMP pool fighting libtorch's
            Path openmp = Path.of(NativeOpsBridge.openmpLibrary());
            Path torchOpenmp = loadedLibraryMatching(libtorch.getParent(), "libgomp");
            if (torchOpenmp != null && !torchOpenmp.equals(openmp)) {
                return "the bridge's OpenMP runtime " + openmp + " is not libtorch's " + torchOpenmp;
            }
            if (!Boolean.getBoolean("bark4j.native.nnpack")) {
                NativeOpsBridge.disableNnpack();
            }
            return null;
        }
    }

    /** The required symbols the given shared object does not export. */
    static Set<String> missingSymbols(Path sharedObject) throws IOException {
        Set<String> defined = ElfDynamicSymbols.read(sharedObject).defined();
        return REQUIRED_SYMBOLS.stream()
                .filter(s -> !defined.contains(s))
                .collect(Collectors.toCollection(TreeSet::new));
    }

    /** A mapped shared object in {@code dir} whose file name starts with {@code prefix}, or null. */
    static Path loadedLibraryMatching(Path dir, String prefix) throws IOException {
        for (Path p : mappedFiles()) {
            if (p.getParent() != null && p.getParent().equals(dir)
                    && p.getFileName().toString().startsWith(prefix)) {
                return p;
            }
        }
        return null;
    }

    /** Every file mapped into this process, from /proc/self/maps (empty where it is unreadable). */
    static List<Path> mappedFiles() throws IOException {
        Path maps = Path.of("/proc/self/maps");
        if (!Files.isReadable(maps)) {
            return List.of();
        }
        try (Stream<String> lines = Files.lines(maps)) {
            return lines.map(line -> {
                        int slash = line.indexOf('/');
                        return slash < 0 ? "" : line.substring(slash);
                    })
                    .filter(path -> !path.isEmpty() && !path.endsWith(" (deleted)"))
                    .distinct()
                    .map(Path::of)
                    .collect(Collectors.toList());
        }
    }

    /** The path of a loaded shared object with this file name, from /proc/self/maps. */
    static Path loadedLibrary(String fileName) throws IOException {
        Path maps = Path.of("/proc/self/maps");
        if (!Files.isReadable(maps)) {
            return null;
        }
        try (Stream<String> lines = Files.lines(maps)) {
            List<String> paths =
                    lines.map(line -> {
                                int slash = line.indexOf('/');
                                return slash < 0 ? "" : line.substring(slash);
                            })
                            .filter(path -> path.endsWith("/" + fileName))
                            .distinct()
                            .collect(Collectors.toList());
            if (paths.size() > 1) {
                throw new IOException("several " + fileName + " are loaded: " + paths);
            }
            return paths.isEmpty() ? null : Path.of(paths.get(0));
        }
    }
}
