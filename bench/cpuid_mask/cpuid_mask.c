/*
 * cpuid_mask: make a process believe its x86-64 CPU lacks some instruction-set extensions,
 * so that a library which picks kernels by CPUID (ONNX Runtime's MLAS, qfront-rt's
 * KernelSet::detect, NumPy) runs the code path an older CPU would get -- on the same core,
 * same caches, same clock, in the same run as the full-featured path.
 *
 * Why by hand: no packaged tool does this without a full emulator (Intel SDE, qemu), and an
 * emulator changes the timings we want to measure. The mechanism is the kernel's CPUID
 * faulting (arch_prctl(ARCH_SET_CPUID, 0), Linux >= 4.12, /proc/cpuinfo flag `cpuid_fault`):
 * every CPUID instruction then raises SIGSEGV; the handler below executes the real CPUID
 * with faulting briefly switched off, clears the hidden feature bits, writes the results
 * into the interrupted registers and steps over the 2-byte instruction. Only CPUID is
 * slowed (a few microseconds each; libraries call it at start-up), never the measured code.
 *
 * Build:  cc -O2 -shared -fPIC -o libcpuid_mask.so cpuid_mask.c
 * Use:    CPUID_MASK=avx2 LD_PRELOAD=$PWD/libcpuid_mask.so python3 ...
 *   CPUID_MASK=avx2      hide AVX-512 (all), AVX-VNNI and AMX: an AVX2-only CPU (Haswell..)
 *   CPUID_MASK=avx512bw  hide AVX-512 VNNI, AVX-VNNI and AMX: AVX-512 F/BW/DQ/VL without
 *                        VNNI (Skylake-SP)
 *   CPUID_MASK=avx512vnni  hide AMX only: AVX-512 with VNNI (Cascade Lake, Ice Lake, Zen 4)
 *   CPUID_MASK unset     no effect.
 * The setting is per thread and inherited by threads and forked children; execve resets it
 * (LD_PRELOAD then installs it again in the new program). glibc's own string-function
 * choice is made before this library loads and is not affected.
 * Set CPUID_MASK_VERBOSE=1 to print the mask to stderr at start-up.
 */
#define _GNU_SOURCE
#include <asm/prctl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

/* Feature bits, Intel SDM vol. 2A, CPUID leaf 07H. */
/* Leaf 7, sub-leaf 0, EBX. */
#define L7_EBX_AVX512F (1u << 16)
#define L7_EBX_AVX512DQ (1u << 17)
#define L7_EBX_AVX512IFMA (1u << 21)
#define L7_EBX_AVX512PF (1u << 26)
#define L7_EBX_AVX512ER (1u << 27)
#define L7_EBX_AVX512CD (1u << 28)
#define L7_EBX_AVX512BW (1u << 30)
#define L7_EBX_AVX512VL (1u << 31)
/* Leaf 7, sub-leaf 0, ECX. */
#define L7_ECX_AVX512VBMI (1u << 1)
#define L7_ECX_AVX512VBMI2 (1u << 6)
#define L7_ECX_AVX512VNNI (1u << 11)
#define L7_ECX_AVX512BITALG (1u << 12)
#define L7_ECX_AVX512VPOPCNTDQ (1u << 14)
/* Leaf 7, sub-leaf 0, EDX. */
#define L7_EDX_AVX512_4VNNIW (1u << 2)
#define L7_EDX_AVX512_4FMAPS (1u << 3)
#define L7_EDX_AVX512VP2INTERSECT (1u << 8)
#define L7_EDX_AMX_BF16 (1u << 22)
#define L7_EDX_AVX512FP16 (1u << 23)
#define L7_EDX_AMX_TILE (1u << 24)
#define L7_EDX_AMX_INT8 (1u << 25)
/* Leaf 7, sub-leaf 1, EAX and EDX. */
#define L7S1_EAX_AVXVNNI (1u << 4)
#define L7S1_EAX_AVX512BF16 (1u << 5)
#define L7S1_EAX_AVXIFMA (1u << 23)
#define L7S1_EDX_AVXVNNIINT8 (1u << 4)
#define L7S1_EDX_AVXVNNIINT16 (1u << 10)

struct mask {
  uint32_t l7_ebx, l7_ecx, l7_edx, l7s1_eax, l7s1_edx;
};

static struct mask hidden;

static long set_cpuid_enabled(int enabled) {
  return syscall(SYS_arch_prctl, ARCH_SET_CPUID, enabled);
}

static void real_cpuid(uint32_t leaf, uint32_t subleaf, uint32_t out[4]) {
  __asm__ volatile("cpuid"
                   : "=a"(out[0]), "=b"(out[1]), "=c"(out[2]), "=d"(out[3])
                   : "a"(leaf), "c"(subleaf));
}

static void on_segv(int signal, siginfo_t *info, void *context) {
  (void)info;
  ucontext_t *uc = (ucontext_t *)context;
  greg_t *regs = uc->uc_mcontext.gregs;
  const unsigned char *ip = (const unsigned char *)regs[REG_RIP];
  if (ip[0] != 0x0f || ip[1] != 0xa2) {
    /* A real fault: let it take its default course. */
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigaction(signal, &dfl, NULL);
    return;
  }
  uint32_t leaf = (uint32_t)regs[REG_RAX], subleaf = (uint32_t)regs[REG_RCX];
  uint32_t r[4];
  set_cpuid_enabled(1);
  real_cpuid(leaf, subleaf, r);
  set_cpuid_enabled(0);
  if (leaf == 7 && subleaf == 0) {
    r[1] &= ~hidden.l7_ebx;
    r[2] &= ~hidden.l7_ecx;
    r[3] &= ~hidden.l7_edx;
  } else if (leaf == 7 && subleaf == 1) {
    r[0] &= ~hidden.l7s1_eax;
    r[3] &= ~hidden.l7s1_edx;
  }
  /* CPUID writes the low 32 bits and zeroes the high 32 bits of each register. */
  regs[REG_RAX] = r[0];
  regs[REG_RBX] = r[1];
  regs[REG_RCX] = r[2];
  regs[REG_RDX] = r[3];
  regs[REG_RIP] += 2;
}

__attribute__((constructor)) static void cpuid_mask_install(void) {
  const char *name = getenv("CPUID_MASK");
  if (name == NULL || name[0] == '\0') return;
  const struct mask no_vnni_no_amx = {
      0, L7_ECX_AVX512VNNI,
      L7_EDX_AVX512_4VNNIW | L7_EDX_AMX_BF16 | L7_EDX_AMX_TILE | L7_EDX_AMX_INT8,
      L7S1_EAX_AVXVNNI, L7S1_EDX_AVXVNNIINT8 | L7S1_EDX_AVXVNNIINT16};
  if (strcmp(name, "avx512vnni") == 0) {
    hidden.l7_edx = L7_EDX_AMX_BF16 | L7_EDX_AMX_TILE | L7_EDX_AMX_INT8;
  } else if (strcmp(name, "avx512bw") == 0) {
    hidden = no_vnni_no_amx;
  } else if (strcmp(name, "avx2") == 0) {
    hidden = no_vnni_no_amx;
    hidden.l7_ebx |= L7_EBX_AVX512F | L7_EBX_AVX512DQ | L7_EBX_AVX512IFMA | L7_EBX_AVX512PF |
                     L7_EBX_AVX512ER | L7_EBX_AVX512CD | L7_EBX_AVX512BW | L7_EBX_AVX512VL;
    hidden.l7_ecx |= L7_ECX_AVX512VBMI | L7_ECX_AVX512VBMI2 | L7_ECX_AVX512BITALG |
                     L7_ECX_AVX512VPOPCNTDQ;
    hidden.l7_edx |= L7_EDX_AVX512VP2INTERSECT | L7_EDX_AVX512FP16;
    hidden.l7s1_eax |= L7S1_EAX_AVX512BF16 | L7S1_EAX_AVXIFMA;
  } else {
    fprintf(stderr, "cpuid_mask: CPUID_MASK=%s is not one of avx2, avx512bw, avx512vnni\n", name);
    exit(2);
  }
  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_sigaction = on_segv;
  action.sa_flags = SA_SIGINFO | SA_NODEFER;
  sigemptyset(&action.sa_mask);
  if (sigaction(SIGSEGV, &action, NULL) != 0 || set_cpuid_enabled(0) != 0) {
    fprintf(stderr,
            "cpuid_mask: this kernel or CPU has no CPUID faulting (/proc/cpuinfo flag "
            "cpuid_fault); cannot hide features here\n");
    exit(2);
  }
  if (getenv("CPUID_MASK_VERBOSE") != NULL)
    fprintf(stderr, "cpuid_mask: hiding %s-and-above features (leaf 7 ebx %08x ecx %08x edx %08x)\n",
            name, hidden.l7_ebx, hidden.l7_ecx, hidden.l7_edx);
}
