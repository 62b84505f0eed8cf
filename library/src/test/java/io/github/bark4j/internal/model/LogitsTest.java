package io.github.bark4j.internal.model;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class LogitsTest {

    @Test
    void argmaxPicksTheFirstLargestWithinTheRange() {
        double[] v = {9, 1, 5, 5, 2, 7, 100};
        assertEquals(6, Logits.argmax(v, 0, v.length));
        assertEquals(1, Logits.argmax(v, 1, 5), "relative to 'from'; the first of the tied 5s");
        assertEquals(4, Logits.argmax(v, 1, 6));
        assertEquals(0, Logits.argmax(v, 3, 4));
        assertEquals(2, Logits.argmax(new double[] {Double.NEGATIVE_INFINITY, -5, -1}, 0, 3));
    }
}
