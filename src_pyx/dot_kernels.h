/* The C loops of the dot's block on a Graph's tape (src_pyx/ops.pxi): the arithmetic of
   one or several dots over arrays of doubles, the loops a compiler can run two or four
   doubles at a time. Each does the multiplications and additions of the dots run one by
   one, in the same order wherever the order changes a number; the build turns off
   contracted multiply-adds (setup.py), so each is rounded as Python rounds it. Included
   by the C that Cython writes, after its own definitions (CYTHON_INLINE). */

#include <string.h>

#if defined(_MSC_VER)
#define MGF_RESTRICT __restrict
#else
#define MGF_RESTRICT restrict
#endif

#if defined(__GNUC__) && !defined(__clang__)
#define MGF_VECTORIZE __attribute__((optimize("tree-vectorize")))
#define MGF_IVDEP _Pragma("GCC ivdep")
#else
#define MGF_VECTORIZE
#define MGF_IVDEP
#endif

/* A kernel whose loop gains from wider registers is compiled twice: for any processor
   of the platform and, on x86, for one with AVX (four doubles an instruction where the
   baseline, SSE2, does two). The same operations, so the same numbers, either way;
   mgf_pick_kernels, run when the engine is imported, sets the pointer mgf_NAME. */
#if (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || defined(__i386__))
#define MGF_AVX_KERNELS 1
#define MGF_KERNEL(name, params, args)                                                      \
    static MGF_VECTORIZE void mgf_##name##_base params { mgf_##name##_body args; }         \
    static MGF_VECTORIZE __attribute__((target("avx"))) void mgf_##name##_avx params {     \
        mgf_##name##_body args;                                                             \
    }                                                                                       \
    static void (*mgf_##name) params = mgf_##name##_base;
#else
#define MGF_AVX_KERNELS 0
#define MGF_KERNEL(name, params, args)                                                      \
    static MGF_VECTORIZE void mgf_##name##_base params { mgf_##name##_body args; }         \
    static void (*mgf_##name) params = mgf_##name##_base;
#endif


/* Eight dots over the same inputs val[x], ..., val[x + n - 1]: total j is val[bias[j]]
   plus val[w[j]] * val[x] plus ..., summed left to right; the eight sums side by side, so
   that the processor does not wait for one addition before it starts the next. (The
   biases are read here, not handed over in an array of doubles: the compiler would read
   that array two doubles at a time, which waits for the caller's one-at-a-time writes.) */
static void mgf_dots_forward(double *total, const double *val, const Py_ssize_t *bias,
                             const Py_ssize_t *w, Py_ssize_t x, Py_ssize_t n) {
    const double *w0 = val + w[0], *w1 = val + w[1], *w2 = val + w[2], *w3 = val + w[3];
    const double *w4 = val + w[4], *w5 = val + w[5], *w6 = val + w[6], *w7 = val + w[7];
    const double *xs = val + x;
    double t0 = val[bias[0]], t1 = val[bias[1]], t2 = val[bias[2]], t3 = val[bias[3]];
    double t4 = val[bias[4]], t5 = val[bias[5]], t6 = val[bias[6]], t7 = val[bias[7]];
    for (Py_ssize_t i = 0; i < n; i++) {
        double xi = xs[i];
        t0 = t0 + w0[i] * xi; t1 = t1 + w1[i] * xi; t2 = t2 + w2[i] * xi; t3 = t3 + w3[i] * xi;
        t4 = t4 + w4[i] * xi; t5 = t5 + w5[i] * xi; t6 = t6 + w6[i] * xi; t7 = t7 + w7[i] * xi;
    }
    total[0] = t0; total[1] = t1; total[2] = t2; total[3] = t3;
    total[4] = t4; total[5] = t5; total[6] = t6; total[7] = t7;
}

/* The same sums when the eight dots' biases and weights are copied side by side into a
   block (graph.pxi fills it before each forward): its row 0 the biases, row i + 1 the
   weights that multiply val[x + i]. The eight sums are kept as four vectors of two
   (GCC's and Clang's vector types, the registers of SSE2 and AVX alike), so that a row
   is read, multiplied and added a vector at a time, each lane as the loop below does. */
#if defined(__GNUC__) || defined(__clang__)
typedef double mgf_two __attribute__((vector_size(2 * sizeof(double))));

static CYTHON_INLINE mgf_two mgf_two_at(const double *p) {  /* unaligned: the block is aligned as doubles are */
    mgf_two v;
    memcpy(&v, p, sizeof v);
    return v;
}

static CYTHON_INLINE MGF_VECTORIZE void
mgf_dots_block_forward_body(double *total, const double *val, const double *block,
                            Py_ssize_t x, Py_ssize_t n) {
    const double *xs = val + x, *w = block;
    mgf_two t0 = mgf_two_at(w), t1 = mgf_two_at(w + 2), t2 = mgf_two_at(w + 4), t3 = mgf_two_at(w + 6);
    for (Py_ssize_t i = 0; i < n; i++) {
        const mgf_two xv = {xs[i], xs[i]};
        w += 8;
        t0 = t0 + mgf_two_at(w) * xv; t1 = t1 + mgf_two_at(w + 2) * xv;
        t2 = t2 + mgf_two_at(w + 4) * xv; t3 = t3 + mgf_two_at(w + 6) * xv;
    }
    memcpy(total, &t0, sizeof t0); memcpy(total + 2, &t1, sizeof t1);
    memcpy(total + 4, &t2, sizeof t2); memcpy(total + 6, &t3, sizeof t3);
}
#else
static CYTHON_INLINE void
mgf_dots_block_forward_body(double *total, const double *val, const double *block,
                            Py_ssize_t x, Py_ssize_t n) {
    const double *xs = val + x;
    int j;
    for (j = 0; j < 8; j++)
        total[j] = block[j];
    for (Py_ssize_t i = 0; i < n; i++)
        for (j = 0; j < 8; j++)
            total[j] = total[j] + block[8 * (i + 1) + j] * xs[i];
}
#endif
MGF_KERNEL(dots_block_forward,
           (double *total, const double *val, const double *block, Py_ssize_t x, Py_ssize_t n),
           (total, val, block, x, n))

/* One dot's backward over its weights and inputs when they are consecutive and apart:
   each index gets one addition, so the order does not matter. */
static MGF_VECTORIZE void
mgf_dot_backward_apart(double *MGF_RESTRICT w_grad, double *MGF_RESTRICT x_grad,
                       const double *MGF_RESTRICT w, const double *MGF_RESTRICT x,
                       double g, Py_ssize_t n) {
    for (Py_ssize_t i = 0; i < n; i++) {
        w_grad[i] += x[i] * g;
        x_grad[i] += w[i] * g;
    }
}

/* The backward of four dots over the same inputs val[x], ..., val[x + n - 1], the j-th
   with gradient g[j] and weights at w[j], ..., w[j] + n - 1, the weights of each apart
   from the others' and from the inputs: each weight gets its one addition, each input's
   gradient the four in the dots' order, as when they run one after another, but it is
   read and written once, not four times. */
static CYTHON_INLINE MGF_VECTORIZE void
mgf_dots4_backward_body(double *grad, const double *val, const Py_ssize_t *w, Py_ssize_t x,
                        const double *g, Py_ssize_t n) {
    double *MGF_RESTRICT wg0 = grad + w[0], *MGF_RESTRICT wg1 = grad + w[1];
    double *MGF_RESTRICT wg2 = grad + w[2], *MGF_RESTRICT wg3 = grad + w[3];
    const double *MGF_RESTRICT w0 = val + w[0], *MGF_RESTRICT w1 = val + w[1];
    const double *MGF_RESTRICT w2 = val + w[2], *MGF_RESTRICT w3 = val + w[3];
    const double *MGF_RESTRICT xs = val + x;
    double *MGF_RESTRICT xg = grad + x;
    const double g0 = g[0], g1 = g[1], g2 = g[2], g3 = g[3];
    MGF_IVDEP
    for (Py_ssize_t i = 0; i < n; i++) {
        double xi = xs[i];
        wg0[i] += xi * g0; wg1[i] += xi * g1; wg2[i] += xi * g2; wg3[i] += xi * g3;
        xg[i] = (((xg[i] + w0[i] * g0) + w1[i] * g1) + w2[i] * g2) + w3[i] * g3;
    }
}
MGF_KERNEL(dots4_backward,
           (double *grad, const double *val, const Py_ssize_t *w, Py_ssize_t x,
            const double *g, Py_ssize_t n),
           (grad, val, w, x, g, n))


/* The kernels for this processor (wide: 1), or the baseline's (wide: 0, for the tests);
   1 when the AVX ones are in use. */
static int mgf_pick_kernels(int wide) {
#if MGF_AVX_KERNELS
    __builtin_cpu_init();
    if (wide && __builtin_cpu_supports("avx")) {
        mgf_dots_block_forward = mgf_dots_block_forward_avx;
        mgf_dots4_backward = mgf_dots4_backward_avx;
        return 1;
    }
#endif
    (void)wide;
    mgf_dots_block_forward = mgf_dots_block_forward_base;
    mgf_dots4_backward = mgf_dots4_backward_base;
    return 0;
}
