package io.github.bark4j;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;
import static com.tngtech.archunit.library.Architectures.layeredArchitecture;
import static com.tngtech.archunit.library.dependencies.SlicesRuleDefinition.slices;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.domain.JavaModifier;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.Set;
import java.util.TreeSet;

/**
 * The layout ARCHITECTURE.md describes, checked on the compiled classes: the public API alone in
 * {@code io.github.bark4j}, the implementation in {@code internal.*} packages whose dependencies point
 * one way, and no implementation class that reaches back into the facades.
 */
class ArchitectureTest {
    private static final String API = "io.github.bark4j";
    private static JavaClasses classes;

    @BeforeAll
    static void importClasses() {
        classes = new ClassFileImporter().withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
                .importPackages(API);
    }

    /** Adding a public type to the API is a decision: this list changes with it. */
    @Test
    void theApiPackageHoldsOnlyTheApi() {
        Set<String> publicTypes = new TreeSet<>();
        for (JavaClass c : classes) {
            if (c.getPackageName().equals(API) && c.getModifiers().contains(JavaModifier.PUBLIC)) {
                publicTypes.add(c.getName().substring(API.length() + 1));
            }
        }
        assertEquals(new TreeSet<>(Set.of("Attention", "BarkException", "DownloadListener",
                "GenerationCancelledException", "GenerationException", "GenerationOptions",
                "GenerationOptions$Builder", "InvalidAudioException", "InvalidInputException", "InvalidVoiceException",
                "ModelDownloadException", "ModelDownloadException$Reason", "ModelHub", "ModelHub$Builder", "ModelLoadException", "Offload",
                "Precision", "ProgressListener", "Speech", "Speech$Segment", "Stage", "Synthesizer",
                "Synthesizer$Builder", "SynthesizerClosedException", "UnsafeCheckpointException",
                "VoicePreset")), publicTypes);
    }

    @Test
    void internalPackagesDependOneWay() {
        layeredArchitecture().consideringOnlyDependenciesInAnyPackage(API + "..")
                .layer("api").definedBy(API)
                .layer("internalRoot").definedBy(API + ".internal")
                .layer("pipeline").definedBy(API + ".internal.pipeline..")
                .layer("cloning").definedBy(API + ".internal.cloning..")
                .layer("model").definedBy(API + ".internal.model..")
                .layer("checkpoint").definedBy(API + ".internal.checkpoint..")
                .layer("hub").definedBy(API + ".internal.hub..")
                .layer("nativ").definedBy(API + ".internal.nativ..")
                .layer("io").definedBy(API + ".internal.io..")
                .layer("audio").definedBy(API + ".internal.audio..")
                .whereLayer("pipeline").mayOnlyBeAccessedByLayers("api")
                .whereLayer("cloning").mayOnlyBeAccessedByLayers("api")
                .whereLayer("model").mayOnlyBeAccessedByLayers("api", "pipeline", "cloning")
                .whereLayer("checkpoint").mayOnlyBeAccessedByLayers("model", "cloning")
                .whereLayer("hub").mayOnlyBeAccessedByLayers("api")
                .whereLayer("nativ").mayOnlyBeAccessedByLayers("pipeline", "model", "cloning")
                .whereLayer("io").mayOnlyBeAccessedByLayers("api", "model", "checkpoint", "hub", "cloning")
                .whereLayer("audio").mayOnlyBeAccessedByLayers("api", "cloning")
                .whereLayer("internalRoot").mayOnlyBeAccessedByLayers("api", "pipeline", "cloning")
                .check(classes);
    }

    @Test
    void internalPackagesHaveNoCycles() {
        slices().matching(API + ".internal.(*)..").should().beFreeOfCycles().check(classes);
    }

    /** The implementation uses the API's vocabulary (options, presets, exceptions), never its facades. */
    @Test
    void noInternalClassUsesTheFacades() {
        noClasses().that().resideInAPackage(API + ".internal..").should().dependOnClassesThat()
                .haveFullyQualifiedName(API + ".Synthesizer").orShould().dependOnClassesThat()
                .haveFullyQualifiedName(API + ".ModelHub").check(classes);
    }

    /** The native bridge's Java side knows nothing of Bark: it is the bottom of the stack. */
    @Test
    void theBridgeDependsOnNothingAbove() {
        noClasses().that().resideInAPackage(API + ".internal.nativ..").should().dependOnClassesThat()
                .resideInAnyPackage(API + ".internal.model..", API + ".internal.pipeline..",
                        API + ".internal.checkpoint..", API + ".internal.hub..")
                .check(classes);
    }
}
