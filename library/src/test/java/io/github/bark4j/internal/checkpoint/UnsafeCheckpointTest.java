package io.github.bark4j.internal.checkpoint;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.bark4j.UnsafeCheckpointException;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Hostile pickles in a torch.save layout. Each payload would, if a real unpickler ran it, create a
 * marker file; every one must be refused with {@link UnsafeCheckpointException} and leave no marker.
 */
class UnsafeCheckpointTest {

    @TempDir
    Path tmp;

    private Path marker() {
        return tmp.resolve("pwned");
    }

    /** A checkpoint whose pickle is {@code body}, with a valid storage beside it. */
    private Path checkpoint(PickleBytes body) throws IOException {
        return TorchZip.checkpoint("evil", body.bytes()).add("evil/data/0", new byte[8])
                .add("evil/version", new byte[] {'3', '\n'}).write(tmp.resolve("evil.bin"));
    }

    private UnsafeCheckpointException assertRefused(PickleBytes body, String... phrases) throws IOException {
        Path file = checkpoint(body);
        UnsafeCheckpointException e = assertThrows(UnsafeCheckpointException.class, () -> PyTorchCheckpoint.open(file).close());
        for (String phrase : phrases) {
            assertTrue(e.getMessage().contains(phrase), "'" + phrase + "' not in: " + e.getMessage());
        }
        assertFalse(Files.exists(marker()), "the payload ran");
        return e;
    }

    /** The argument that makes each callable create the marker file. */
    private String payload(String module, String name) {
        return name.equals("system") ? "touch '" + marker() + "'" : "open(r'" + marker() + "', 'w')";
    }

    @ParameterizedTest(name = "GLOBAL {0}.{1}")
    @CsvSource({"os,system", "posix,system", "nt,system", "builtins,eval", "__builtin__,eval", "builtins,exec",
        "torch,load", "torch._utils,_rebuild_tensor", "collections,defaultdict"})
    void forbiddenGlobalIsRefusedBeforeAnythingRuns(String module, String name) throws IOException {
        PickleBytes p = PickleBytes.proto2().global(module, name).str(payload(module, name)).op(0x85).op('R').stop();
        assertRefused(p, module + "." + name, "not a tensor-rebuilding global");
    }

    @Test
    void subprocessPopenIsRefused() throws IOException {
        PickleBytes p = PickleBytes.proto2().global("subprocess", "Popen")
                .op(']').mark().shortStr("touch").shortStr(marker().toString()).op('e').op(0x85).op('R').stop();
        assertRefused(p, "subprocess.Popen");
    }

    @Test
    void forbiddenGlobalIsRefusedEvenAfterValidTensorsAndWithStoragesMissing() throws IOException {
        // a plausible state dict whose storage does not exist, then the payload: the payload is what gets reported
        PickleBytes p = PickleBytes.proto2().op('}').mark()
                .str("w").tensor("FloatStorage", "missing", 2, 0, new long[] {2}, new long[] {1})
                .str("x").global("os", "system").shortStr(payload("os", "system")).op(0x85).op('R')
                .op('u').stop();
        assertRefused(p, "os.system");
    }

    @Test
    void reduceOnNonCallableIsRefused() throws IOException {
        // a storage class is allow-listed as a persistent-id tag, never as something to call
        assertRefused(PickleBytes.proto2().global("torch", "FloatStorage").op(')').op('R').stop(),
                "calls torch.FloatStorage");
        // a string, a tensor, a dict are not callables either
        assertRefused(PickleBytes.proto2().shortStr("os.system").shortStr(payload("os", "system")).op(0x85).op('R').stop(),
                "calls the string 'os.system'");
        assertRefused(PickleBytes.proto2().tensor("FloatStorage", "0", 2, 0, new long[] {2}, new long[] {1})
                .op(')').op('R').stop(), "calls a tensor");
        assertRefused(PickleBytes.proto2().op('}').op(')').op('R').stop(), "calls a dict");
    }

    @Test
    void buildOnAnythingButAnOrderedDictIsRefused() throws IOException {
        assertRefused(PickleBytes.proto2().tensor("FloatStorage", "0", 2, 0, new long[] {2}, new long[] {1})
                .op('}').shortStr("__class__").shortStr("os.system").op('s').op('b').stop(), "BUILD", "a tensor");
        assertRefused(PickleBytes.proto2().op(']').op('}').op('b').stop(), "BUILD", "a list");
        assertRefused(PickleBytes.proto2().op('}').op('}').op('b').stop(), "BUILD", "a dict");
        assertRefused(PickleBytes.proto2().global("torch._utils", "_rebuild_tensor_v2").op('}').op('b').stop(),
                "BUILD", "torch._utils._rebuild_tensor_v2");
        // an OrderedDict may not get a non-dict state either
        assertRefused(PickleBytes.proto2().orderedDict().shortStr("x").op('b').stop(), "BUILD");
    }

    @Test
    void instIsRefused() throws IOException {
        PickleBytes p = PickleBytes.proto2().mark().str(payload("os", "system")).op('i')
                .raw("os\nsystem\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII)).stop();
        assertRefused(p, "os.system", "INST");
        // even an allow-listed class may not be instantiated that way
        PickleBytes q = PickleBytes.proto2().mark().op('i')
                .raw("collections\nOrderedDict\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII)).stop();
        assertRefused(q, "collections.OrderedDict", "INST");
    }

    @Test
    void stackGlobalIsCheckedAgainstTheAllowList() throws IOException {
        PickleBytes p = PickleBytes.proto2().shortStr("os").shortStr("system").op(0x93)
                .shortStr(payload("os", "system")).op(0x85).op('R').stop();
        assertRefused(p, "os.system");
        PickleBytes q = PickleBytes.proto2().shortStr("builtins").shortStr("eval").op(0x93)
                .shortStr(payload("builtins", "eval")).op(0x85).op('R').stop();
        assertRefused(q, "builtins.eval");
        assertRefused(PickleBytes.proto2().integer(1).integer(2).op(0x93).stop(), "STACK_GLOBAL");
    }

    @Test
    void objNewobjAndExtensionsAreRefused() throws IOException {
        assertRefused(PickleBytes.proto2().mark().global("collections", "OrderedDict").op('o').stop(), "OBJ");
        assertRefused(PickleBytes.proto2().global("collections", "OrderedDict").op(')').op(0x81).stop(), "NEWOBJ");
        assertRefused(PickleBytes.proto2().global("collections", "OrderedDict").op(')').op('}').op(0x92).stop(), "NEWOBJ_EX");
        assertRefused(PickleBytes.proto2().op(0x82).op(1).op(')').op('R').stop(), "extension registry");
        assertRefused(PickleBytes.proto2().op(0x83).op(1).op(0).stop(), "extension registry");
    }
}
