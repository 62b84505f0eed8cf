/**
 * bark4j: Bark text-to-speech on DJL's PyTorch engine. The API is {@code io.github.bark4j} alone;
 * everything under {@code io.github.bark4j.internal} is the implementation and is not exported.
 */
module io.github.bark4j {
    requires ai.djl.api;
    requires ai.djl.pytorch_engine;
    requires ai.djl.tokenizers;
    requires com.google.gson;
    requires java.net.http;
    requires org.bytedeco.javacpp;
    requires org.slf4j;
    // MappedBuffers unmaps tensor files with sun.misc.Unsafe.invokeCleaner where it exists
    requires jdk.unsupported;

    exports io.github.bark4j;

    // JavaCPP's Loader reads the bridge class's annotations and loads its library
    opens io.github.bark4j.internal.nativ to org.bytedeco.javacpp;
}
