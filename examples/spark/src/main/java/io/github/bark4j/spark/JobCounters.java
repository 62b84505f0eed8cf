package io.github.bark4j.spark;

import org.apache.spark.SparkContext;
import org.apache.spark.util.DoubleAccumulator;
import org.apache.spark.util.LongAccumulator;

import java.io.Serializable;

/**
 * The job's progress as named accumulators, shown on the Spark UI's stage pages while it runs.
 * Updates from a task that failed are dropped by Spark; a stage that is recomputed counts twice.
 */
public record JobCounters(LongAccumulator synthesized, LongAccumulator skipped, LongAccumulator failed,
        DoubleAccumulator audioSeconds, LongAccumulator modelLoads) implements Serializable {

    static JobCounters register(SparkContext sc) {
        return new JobCounters(sc.longAccumulator("bark4j rows synthesized"),
                sc.longAccumulator("bark4j rows already done (skipped)"), sc.longAccumulator("bark4j rows failed"),
                sc.doubleAccumulator("bark4j seconds of audio synthesized"),
                sc.longAccumulator("bark4j model loads"));
    }

    /** Rows with status ok in this run: made now or found finished. */
    public long done() {
        return synthesized.value() + skipped.value();
    }
}
