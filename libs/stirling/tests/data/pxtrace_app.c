/* The traced program of the pxtrace tests: waits for a line on stdin (so that probes attach
 * first), then calls compute() `rounds` times and prints each result. */
#include <stdio.h>
#include <stdlib.h>

struct point { int x; int y; };

__attribute__((noinline)) long compute(int n, const char *label, unsigned long scale) {
    long total = 0;
    for (int i = 0; i < n; i++) total += i * (long)scale;
    return total + (long)label[0];
}

__attribute__((noinline)) double ratio(double a, double b) { return a / b; }

__attribute__((noinline)) int by_value(struct point p) { return p.x + p.y; }

int main(int argc, char **argv) {
    int rounds = argc > 1 ? atoi(argv[1]) : 3;
    char line[16];
    if (!fgets(line, sizeof line, stdin)) return 1;
    for (int i = 1; i <= rounds; i++) {
        char label[8];
        snprintf(label, sizeof label, "r%d", i);
        printf("%ld\n", compute(i * 10, label, 2));
    }
    struct point p = {1, 2};
    printf("%d %.1f\n", by_value(p), ratio(1.0, 2.0));
    fflush(stdout);
    return 0;
}
