// For TSan builds only (cmake/sanitizers.cmake, KGW_SANITIZE=thread): Debian's librdkafka makes
// its threads, locks and waits with C11 <threads.h>, and glibc implements those by calling its
// internal pthread functions, which TSan does not intercept. A thread TSan never saw created
// crashes it ("CHECK failed: ((thr->slot)) != (0)") at its first allocation, and locks it never
// saw would show its own code racing. Defined in the test executable, these wrappers take
// precedence over glibc's for librdkafka and forward to the pthread functions TSan intercepts.
// Threading: each wrapper is as thread-safe as the pthread function it forwards to.
#include <pthread.h>
#include <threads.h>

#include <cerrno>
#include <cstdint>
#include <ctime>

namespace {

struct start {
  thrd_start_t fn;
  void* arg;
};

void* run(void* p) {
  const start s = *static_cast<start*>(p);
  delete static_cast<start*>(p);
  return reinterpret_cast<void*>(static_cast<std::intptr_t>(s.fn(s.arg)));
}

int result(int e) { return e == 0 ? thrd_success : e == ETIMEDOUT ? thrd_timedout : e == EBUSY ? thrd_busy : thrd_error; }

}  // namespace

extern "C" {

int thrd_create(thrd_t* thr, thrd_start_t fn, void* arg) {
  auto* s = new start{fn, arg};
  const int e = pthread_create(thr, nullptr, run, s);
  if (e != 0) delete s;
  return e == 0 ? thrd_success : e == EAGAIN ? thrd_nomem : thrd_error;
}
int thrd_join(thrd_t thr, int* res) {
  void* r = nullptr;
  const int e = pthread_join(thr, &r);
  if (e == 0 && res) *res = static_cast<int>(reinterpret_cast<std::intptr_t>(r));
  return result(e);
}
int thrd_detach(thrd_t thr) { return result(pthread_detach(thr)); }
int mtx_lock(mtx_t* m) { return result(pthread_mutex_lock(reinterpret_cast<pthread_mutex_t*>(m))); }
int mtx_trylock(mtx_t* m) { return result(pthread_mutex_trylock(reinterpret_cast<pthread_mutex_t*>(m))); }
int mtx_unlock(mtx_t* m) { return result(pthread_mutex_unlock(reinterpret_cast<pthread_mutex_t*>(m))); }
int cnd_signal(cnd_t* c) { return result(pthread_cond_signal(reinterpret_cast<pthread_cond_t*>(c))); }
int cnd_broadcast(cnd_t* c) { return result(pthread_cond_broadcast(reinterpret_cast<pthread_cond_t*>(c))); }
int cnd_wait(cnd_t* c, mtx_t* m) {
  return result(pthread_cond_wait(reinterpret_cast<pthread_cond_t*>(c), reinterpret_cast<pthread_mutex_t*>(m)));
}
int cnd_timedwait(cnd_t* __restrict c, mtx_t* __restrict m, const struct timespec* __restrict t) {
  return result(
      pthread_cond_timedwait(reinterpret_cast<pthread_cond_t*>(c), reinterpret_cast<pthread_mutex_t*>(m), t));
}

}  // extern "C"
