#include "own-thread.h"

#include <memory>

namespace corral {

void SettleOwnThreadJob(Napi::Env env, Napi::Function, std::nullptr_t*, OwnThreadOutcome* outcome) {
  std::unique_ptr<OwnThreadOutcome> owned(outcome);
  // No env: Node is shutting down and the Promise is gone with it.
  if (env == nullptr) return;
  if (owned->failure) {
    owned->deferred.Reject(MakeSystemError(env, *owned->failure).Value());
  } else if (owned->error) {
    owned->deferred.Reject(Napi::Error::New(env, *owned->error).Value());
  } else {
    owned->deferred.Resolve(env.Undefined());
  }
}

}  // namespace corral
