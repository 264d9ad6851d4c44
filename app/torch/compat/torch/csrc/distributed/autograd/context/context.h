/* compat/…/context.h — for libtorch packages that leave out torch/csrc/distributed/autograd/
 * (Debian 12's libtorch-dev 1.13.1) although c10d's reducer.hpp includes this header.
 *
 * reducer.hpp needs two names from it: ContextPtr, the type of a member holding the distributed
 * autograd context (a std::shared_ptr, whose layout does not depend on the pointee), and
 * DistAutogradContext::GradCallback, checked in a static_assert to equal the Reducer's own
 * callback type. Mien never uses distributed autograd (RPC), so no such context is ever made;
 * with the real header present, meson does not put this folder on the include path.
 */
#pragma once

#include <ATen/core/Tensor.h>

#include <functional>
#include <memory>

namespace torch {
namespace distributed {
namespace autograd {

class DistAutogradContext
{
public:
  using GradCallback = std::function<bool (at::Tensor &)>;
};

using ContextPtr = std::shared_ptr<DistAutogradContext>;

} /* namespace autograd */
} /* namespace distributed */
} /* namespace torch */
