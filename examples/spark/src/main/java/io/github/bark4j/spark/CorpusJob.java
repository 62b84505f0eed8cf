package io.github.bark4j.spark;

import static org.apache.spark.sql.functions.col;
import static org.apache.spark.sql.functions.lit;
import static org.apache.spark.sql.functions.min;

import io.github.bark4j.BarkException;
import io.github.bark4j.ModelLoadException;

import org.apache.spark.api.java.JavaRDD;
import org.apache.spark.sql.DataFrameReader;
import org.apache.spark.sql.Dataset;
import org.apache.spark.sql.Encoders;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SaveMode;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.expressions.Window;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * Speaks a table of texts on Spark: one WAV (or Parquet audio cell) per row and a Parquet manifest.
 * Every executor JVM loads the model once; a re-run skips the rows a previous run finished.
 *
 * <pre>
 * java -jar bark4j-spark.jar --master local[2] --input texts.csv --output out/ --model-dir DIR
 * spark-submit --class io.github.bark4j.spark.CorpusJob ... bark4j-spark.jar --input ... --output ...
 * </pre>
 */
public final class CorpusJob {
    /** Rows per task when --partitions is not given. */
    static final int ROWS_PER_PARTITION = 256;

    private CorpusJob() {}

    /** What a run did, from its manifest and its accumulators. */
    public record Summary(long rows, long ok, long failed, long synthesized, long skipped, double audioSeconds,
            long modelLoads, int partitions, double wallSeconds) {}

    public static void main(String[] args) {
        int code = run(args, System.out, System.err);
        if (code != 0) {
            System.exit(code);
        }
    }

    /** Runs the command line; returns the exit code (0 done, even with failed rows; 2 usage; 1 failure). */
    static int run(String[] args, PrintStream out, PrintStream err) {
        JobOptions o;
        try {
            o = JobOptions.parse(args);
        } catch (IllegalArgumentException e) {
            err.println("bark4j-spark: " + e.getMessage());
            err.println(JobOptions.USAGE);
            return 2;
        }
        if (o.help) {
            out.println(JobOptions.USAGE);
            return 0;
        }
        if (System.getProperty("log4j2.configurationFile") == null) {
            // Spark logs at INFO by default; this job's own file keeps it to warnings (a cluster's config wins)
            System.setProperty("log4j2.configurationFile", "bark4j-spark-log4j2.properties");
        }
        SparkSession.Builder b = SparkSession.builder().appName("bark4j corpus synthesis");
        if (o.master != null) {
            b.master(o.master);
        }
        SparkSession spark = null;
        try {
            // the model first: a broken folder fails here, before Spark starts or any task runs
            ExecutorSynthesizer.get(o.modelSpec());
            spark = b.getOrCreate();
            Summary s = run(spark, o);
            out.printf(Locale.ROOT, "bark4j-spark: %d rows: %d ok (%d synthesized, %d already done), %d failed;"
                    + " %.1f s of audio in %.1f s; manifest %s%n", s.rows(), s.ok(), s.synthesized(), s.skipped(),
                    s.failed(), s.audioSeconds(), s.wallSeconds(), o.output.resolve("manifest"));
            return 0;
        } catch (ModelLoadException e) {
            err.println("bark4j-spark: cannot load the model " + o.modelSpec() + ": " + e.getMessage());
            return 1;
        } catch (BarkException | IllegalArgumentException e) {
            err.println("bark4j-spark: " + e.getMessage());
            return 1;
        } finally {
            if (spark != null && o.master != null) {
                spark.stop();
            }
        }
    }

    /**
     * Runs the job on {@code spark}. Loads the model in this JVM first (a broken model fails here,
     * before any task), keeping it when this JVM also runs the tasks (local mode).
     *
     * @throws io.github.bark4j.ModelLoadException when the model cannot be loaded
     * @throws IllegalArgumentException when the input lacks a column or a setting is invalid
     */
    public static Summary run(SparkSession spark, JobOptions o) {
        long start = System.nanoTime();
        ModelSpec model = o.modelSpec();
        GenerationSettings settings = o.generation();
        settings.validate();
        ExecutorSynthesizer.get(model);
        if (!spark.sparkContext().isLocal()) {
            ExecutorSynthesizer.close(model); // the executors load their own; the driver only checked it
        }

        Dataset<Row> texts = read(spark, o);
        OutputLayout layout = new OutputLayout(o.output, o.audioInParquet);
        try {
            layout.removeLeftovers();
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot clean " + o.output + ": " + e.getMessage(), e);
        }

        // input order numbers the rows: the first row of an id is spoken, later ones fail as duplicates
        StructType numbered = DataTypes.createStructType(List.of(
                DataTypes.createStructField("row", DataTypes.LongType, false),
                DataTypes.createStructField("id", DataTypes.StringType, true),
                DataTypes.createStructField("text", DataTypes.StringType, true),
                DataTypes.createStructField("voice", DataTypes.StringType, true),
                DataTypes.createStructField("seed", DataTypes.StringType, true)));
        JavaRDD<Row> rows = texts.javaRDD().zipWithIndex()
                .map(t -> RowFactory.create(t._2(), t._1().get(0), t._1().get(1), t._1().get(2), t._1().get(3)));
        Dataset<Row> table = spark.createDataFrame(rows, numbered);
        int partitions = o.partitions != null ? o.partitions : defaultPartitions(spark, table.count());
        // one shuffle: rows of an id meet in one partition, where the window finds the first
        Dataset<Row> work = table.repartition(partitions, col("id"))
                .withColumn("first_row", min(col("row")).over(Window.partitionBy(col("id"))))
                .select(Arrays.stream(RowSynthesis.INPUT).map(c -> col(c)).toArray(org.apache.spark.sql.Column[]::new));

        JobCounters counters = JobCounters.register(spark.sparkContext());
        StructType schema = RowSynthesis.manifestSchema(o.audioInParquet);
        spark.sparkContext().setJobDescription("bark4j: speak " + o.input + " into " + o.output);
        work.mapPartitions(new RowSynthesis(model, settings, layout, o.batchSize, counters), Encoders.row(schema))
                .write().mode(SaveMode.Overwrite).parquet(layout.manifest().toString());
        spark.sparkContext().setJobDescription(null);

        long ok = 0;
        long all = 0;
        for (Row r : spark.read().parquet(layout.manifest().toString()).groupBy("status").count().collectAsList()) {
            all += r.getLong(1);
            ok += "ok".equals(r.getString(0)) ? r.getLong(1) : 0;
        }
        return new Summary(all, ok, all - ok, counters.synthesized().value(), counters.skipped().value(),
                counters.audioSeconds().value(), counters.modelLoads().value(), partitions,
                (System.nanoTime() - start) / 1e9);
    }

    /** About {@link #ROWS_PER_PARTITION} rows a task, and at least a task per core. */
    private static int defaultPartitions(SparkSession spark, long rows) {
        return (int) Math.max(spark.sparkContext().defaultParallelism(),
                Math.min(100_000, (rows + ROWS_PER_PARTITION - 1) / ROWS_PER_PARTITION));
    }

    /** The input as (id, text, voice, seed), all strings; voice and seed null where the input has none. */
    static Dataset<Row> read(SparkSession spark, JobOptions o) {
        if (!Files.exists(o.input) && !o.input.toString().contains("://")) {
            throw new IllegalArgumentException("input not found: " + o.input);
        }
        DataFrameReader reader = spark.read();
        if (o.inputFormat.equals("csv")) {
            // RFC 4180: a header, quoted fields may hold commas, newlines and doubled quotes
            reader = reader.option("header", "true").option("multiLine", "true").option("escape", "\"");
        }
        Dataset<Row> raw = reader.format(o.inputFormat).load(o.input.toString());
        List<String> columns = Arrays.asList(raw.columns());
        for (String required : new String[] {"id", "text"}) {
            if (!columns.contains(required)) {
                throw new IllegalArgumentException("the input has no '" + required + "' column (it has "
                        + String.join(", ", columns) + "); columns: id, text, optional voice, seed");
            }
        }
        return raw.select(col("id").cast("string"), col("text").cast("string"),
                (columns.contains("voice") ? col("voice") : lit(null)).cast("string").as("voice"),
                (columns.contains("seed") ? col("seed") : lit(null)).cast("string").as("seed"));
    }
}
