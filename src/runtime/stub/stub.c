/* stub.c — the last program berth executes inside a container, and its
 * optional init.
 *
 * Why: a container process that can reach the runtime's binary through
 * /proc/PID/exe while the runtime works inside the container can overwrite
 * it on the host (CVE-2019-5736). So berth never executes itself there: the
 * container's setup ends with execveat() of this stub from a sealed memfd
 * (nothing can write to it), and the stub executes the user's command.
 *
 * It is built without libc (-nostdlib -ffreestanding, raw system calls for
 * x86_64 and aarch64, its own _start) so that it is a few kilobytes, starts
 * in microseconds and needs only execve, clone, wait4, kill, write,
 * rt_sigprocmask, rt_sigtimedwait and exit — all allowed by any sane
 * seccomp profile, which is already in force when it runs.
 *
 *   berth-stub --exec PATH ARGV0 ARGS…  execve(PATH, [ARGV0, ARGS…], envp)
 *   berth-stub --init PATH ARGV0 ARGS…  stays as pid 1: blocks every signal,
 *       forks the command, reaps every zombie, forwards every other signal
 *       to the command and exits with its status (128+N for signal N).
 *
 * When the command cannot be executed it writes "berth: exec PATH: REASON"
 * to stderr and exits 127 (126 when the file exists but is not executable),
 * as shells do. */
#include <asm/unistd.h>

typedef unsigned long size_t;

#define SIGKILL_     9
#define SIGCHLD_     17
#define SIG_SETMASK_ 2
#define WNOHANG_     1

/* ---- raw system calls ------------------------------------------------------ */

#if defined(__x86_64__)
static long sys6(long n, long a, long b, long c, long d, long e, long f)
{
  register long r10 __asm__("r10") = d;
  register long r8 __asm__("r8") = e;
  register long r9 __asm__("r9") = f;
  long ret;
  __asm__ volatile("syscall"
                   : "=a"(ret)
                   : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                   : "rcx", "r11", "memory");
  return ret;
}

__asm__(".text\n"
        ".globl _start\n"
        ".type _start,@function\n"
        "_start:\n"
        "\txor %ebp, %ebp\n"
        "\tmov %rsp, %rdi\n"
        "\tand $-16, %rsp\n"
        "\tcall stub_main\n"
        "\thlt\n");
#elif defined(__aarch64__)
static long sys6(long n, long a, long b, long c, long d, long e, long f)
{
  register long x8 __asm__("x8") = n;
  register long x0 __asm__("x0") = a;
  register long x1 __asm__("x1") = b;
  register long x2 __asm__("x2") = c;
  register long x3 __asm__("x3") = d;
  register long x4 __asm__("x4") = e;
  register long x5 __asm__("x5") = f;
  __asm__ volatile("svc 0"
                   : "+r"(x0)
                   : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5)
                   : "memory", "cc");
  return x0;
}

__asm__(".text\n"
        ".globl _start\n"
        ".type _start,%function\n"
        "_start:\n"
        "\tmov x29, #0\n"
        "\tmov x30, #0\n"
        "\tmov x0, sp\n"
        "\tand sp, x0, #-16\n"
        "\tbl stub_main\n"
        "1:\tb 1b\n");
#else
#error "berth-stub supports x86_64 and aarch64"
#endif

#define sys0(n)             sys6((n), 0, 0, 0, 0, 0, 0)
#define sys1(n, a)          sys6((n), (long)(a), 0, 0, 0, 0, 0)
#define sys2(n, a, b)       sys6((n), (long)(a), (long)(b), 0, 0, 0, 0)
#define sys3(n, a, b, c)    sys6((n), (long)(a), (long)(b), (long)(c), 0, 0, 0)
#define sys4(n, a, b, c, d) sys6((n), (long)(a), (long)(b), (long)(c), (long)(d), 0, 0)

/* The compiler may emit calls to these even in freestanding mode. */
__attribute__((used)) void *memset(void *d, int c, size_t n)
{
  unsigned char *p = d;
  while (n--)
    *p++ = (unsigned char)c;
  return d;
}

__attribute__((used)) void *memcpy(void *d, const void *s, size_t n)
{
  unsigned char *p = d;
  const unsigned char *q = s;
  while (n--)
    *p++ = *q++;
  return d;
}

static __attribute__((noreturn)) void die(int code)
{
  for (;;)
    sys1(__NR_exit_group, code);
}

static size_t slen(const char *s)
{
  size_t n = 0;
  while (s[n])
    n++;
  return n;
}

static int seq(const char *a, const char *b)
{
  while (*a && *a == *b)
    a++, b++;
  return *a == *b;
}

static void put(const char *s)
{
  size_t n = slen(s);
  while (n > 0) {
    long w = sys3(__NR_write, 2, s, n);
    if (w == -4) /* EINTR */
      continue;
    if (w <= 0)
      return;
    s += w;
    n -= (size_t)w;
  }
}

/* ---- running the command --------------------------------------------------- */

static const char *errno_text(long e)
{
  switch (e) {
  case 1:
    return "Operation not permitted";
  case 2:
    return "No such file or directory";
  case 7:
    return "Argument list too long";
  case 8:
    return "Exec format error";
  case 12:
    return "Cannot allocate memory";
  case 13:
    return "Permission denied";
  case 14:
    return "Bad address";
  case 20:
    return "Not a directory";
  case 21:
    return "Is a directory";
  case 26:
    return "Text file busy";
  case 36:
    return "File name too long";
  case 40:
    return "Too many levels of symbolic links";
  default:
    return 0;
  }
}

static const char *errno_number(long e, char *buf)
{
  char digits[24];
  int n = 0;
  do
    digits[n++] = (char)('0' + e % 10);
  while ((e /= 10) > 0 && n < 20);
  const char *pre = "errno ";
  char *p = buf;
  while (*pre)
    *p++ = *pre++;
  while (n > 0)
    *p++ = digits[--n];
  *p = '\0';
  return buf;
}

static __attribute__((noreturn)) void exec_or_die(char *path, char **argv, char **envp)
{
  long e = -sys3(__NR_execve, path, argv, envp);
  char num[32];
  const char *text = errno_text(e);
  put("berth: exec ");
  put(path);
  put(": ");
  put(text ? text : errno_number(e, num));
  put("\n");
  /* 126: found but not executable; 127: not found (as shells do) */
  die(e == 1 || e == 8 || e == 13 || e == 21 || e == 26 ? 126 : 127);
}

static int status_code(int st)
{
  if ((st & 0x7f) == 0)
    return (st >> 8) & 0xff;
  return 128 + (st & 0x7f);
}

static __attribute__((noreturn)) void run_init(char *path, char **argv, char **envp)
{
  unsigned long all = ~0UL, none = 0;
  sys4(__NR_rt_sigprocmask, SIG_SETMASK_, &all, 0, sizeof all);
  long child = sys6(__NR_clone, SIGCHLD_, 0, 0, 0, 0, 0);
  if (child < 0) {
    put("berth: init: fork failed\n");
    die(127);
  }
  if (child == 0) {
    sys4(__NR_rt_sigprocmask, SIG_SETMASK_, &none, 0, sizeof none);
    exec_or_die(path, argv, envp);
  }
  for (;;) {
    long info[16]; /* siginfo_t is 128 bytes */
    long sig = sys4(__NR_rt_sigtimedwait, &all, info, 0, sizeof all);
    if (sig < 0)
      continue;
    if (sig != SIGCHLD_) {
      sys2(__NR_kill, child, sig);
      continue;
    }
    for (;;) {
      int st = 0;
      long p = sys4(__NR_wait4, -1, &st, WNOHANG_, 0);
      if (p <= 0)
        break;
      if (p == child)
        die(status_code(st)); /* the kernel kills what is left in the namespace */
    }
  }
}

__attribute__((used, noreturn)) void stub_main(long *sp)
{
  long argc = sp[0];
  char **argv = (char **)(sp + 1);
  char **envp = argv + argc + 1;
  if (argc < 4) {
    put("usage: berth-stub --exec|--init PATH ARGV0 [ARGS...]\n");
    die(127);
  }
  if (seq(argv[1], "--init"))
    run_init(argv[2], argv + 3, envp);
  exec_or_die(argv[2], argv + 3, envp);
}
