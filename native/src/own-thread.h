#pragma once

#include <napi.h>

#include <cstddef>
#include <exception>
#include <optional>
#include <string>
#include <system_error>
#include <thread>
#include <utility>

#include "errors.h"

namespace corral {

// A job's end, carried from its thread to the main thread, where its Promise is settled.
struct OwnThreadOutcome {
  Napi::Promise::Deferred deferred;
  std::optional<SystemErrorInfo> failure;
  // A failure that is not errno-shaped (a bug, an allocation).
  std::optional<std::string> error;
};

// Runs on the main thread: settles the Promise with Node's errno shape, as PromiseWorker does.
void SettleOwnThreadJob(Napi::Env env, Napi::Function unused, std::nullptr_t* context, OwnThreadOutcome* outcome);

using OwnThreadSettler = Napi::TypedThreadSafeFunction<std::nullptr_t, OwnThreadOutcome, SettleOwnThreadJob>;

// For jobs that sleep in the kernel rather than compute: deleting a veth waits for an RCU grace period
// (~20 ms, no CPU). On libuv's pool such a job holds one of its four threads, which Node's file work
// shares: eight pods detached side by side then ran four at a time, and the lease files' reads and
// writes (under their lock, which the other pods wait for) queued behind them. A thread of its own
// each (a few tens of microseconds to start) waits beside the others; the Promise is settled on the
// main thread through a thread-safe function, which also keeps Node's loop alive until then.
template <typename Job>
Napi::Promise QueueOnOwnThread(Napi::Env env, const char* name, Job job) {
  auto* outcome = new OwnThreadOutcome{Napi::Promise::Deferred::New(env), std::nullopt, std::nullopt};
  Napi::Promise promise = outcome->deferred.Promise();
  OwnThreadSettler settler = OwnThreadSettler::New(env, name, 0, 1);
  try {
    std::thread([settler, outcome, job = std::move(job)]() mutable {
      try {
        job();
      } catch (const SystemFailure& failure) {
        outcome->failure = failure.info();
      } catch (const std::exception& error) {
        outcome->error = error.what();
      }
      // Refused only while Node shuts down: nobody waits for the Promise any more.
      if (settler.BlockingCall(outcome) != napi_ok) delete outcome;
      settler.Release();
    }).detach();
  } catch (const std::system_error& error) {
    settler.Release();
    delete outcome;
    throw Napi::Error::New(env, std::string("could not start a thread for ") + name + ": " + error.what());
  }
  return promise;
}

}  // namespace corral
