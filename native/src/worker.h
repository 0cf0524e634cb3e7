#pragma once

#include <napi.h>

#include <exception>
#include <optional>

#include "errors.h"

namespace corral {

// One operation = one AsyncWorker: inputs as fields, syscalls in Run() off the main thread, and a
// Promise settled on the main thread with the result or Node's errno-shaped error.
class PromiseWorker : public Napi::AsyncWorker {
 public:
  explicit PromiseWorker(Napi::Env env, const char* name)
      : Napi::AsyncWorker(env, name), deferred_(Napi::Promise::Deferred::New(env)) {}

  // Queues the worker and hands out its Promise; the worker deletes itself once settled.
  Napi::Promise QueueForPromise() {
    Napi::Promise promise = deferred_.Promise();
    Queue();
    return promise;
  }

 protected:
  // The syscalls; throws SystemFailure on error. Runs on a libuv pool thread.
  virtual void Run() = 0;

  // The value the Promise resolves with; runs on the main thread.
  virtual Napi::Value Result(Napi::Env env) { return env.Undefined(); }

 private:
  void Execute() override {
    try {
      Run();
    } catch (const SystemFailure& failure) {
      failure_ = failure.info();
      SetError(failure.what());
    } catch (const std::exception& error) {
      SetError(error.what());
    }
  }

  void OnOK() override { deferred_.Resolve(Result(Env())); }

  void OnError(const Napi::Error& error) override {
    deferred_.Reject(failure_ ? MakeSystemError(Env(), *failure_).Value() : error.Value());
  }

  Napi::Promise::Deferred deferred_;
  std::optional<SystemErrorInfo> failure_;
};

}  // namespace corral
