"""The TRPO step (Schulman et al., 2015) as pure functions of flat parameter vectors.

    maximise  L(theta) = E_t[ pi_theta(a_t|s_t) / pi_old(a_t|s_t) * A_t ]
    s.t.      KL(theta) = E_t[ KL(pi_old(.|s_t) || pi_theta(.|s_t)) ] <= delta

Linearise L (gradient g) and take the second-order term of the KL (its Hessian at theta_old is
the Fisher matrix F): the direction is ``x = F^-1 g`` (`conjugate_gradient`, which only needs
products ``F v``: `fisher_vector_product`, double back-propagation through the KL); the step
``sqrt(2 delta / x^T F x) * x`` reaches the KL radius under the quadratic model; the
`line_search` halves it until the *measured* surrogate improves and the *measured* KL is within
``delta``, and otherwise rejects the step (the parameters stay where they were).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch


def flat(tensors: Sequence[torch.Tensor]) -> torch.Tensor:
    return torch.cat([t.reshape(-1) for t in tensors])


def set_flat(params: Sequence[torch.Tensor], vector: torch.Tensor) -> None:
    """Write ``vector`` into ``params`` (in order) without recording autograd history."""
    offset = 0
    with torch.no_grad():
        for p in params:
            n = p.numel()
            p.copy_(vector[offset : offset + n].view_as(p))
            offset += n


def conjugate_gradient(
    matvec: Callable[[torch.Tensor], torch.Tensor],
    b: torch.Tensor,
    iters: int = 10,
    tol: float = 1e-10,
) -> tuple[torch.Tensor, float]:
    """Solve ``A x = b`` for symmetric positive-definite ``A`` given only ``matvec(v) = A v``.

    Returns ``(x, residual norm)``; stops after ``iters`` products or when ``r^T r < tol``.
    """
    x = torch.zeros_like(b)
    r = b.clone()
    p = b.clone()
    rr = torch.dot(r, r)
    for _ in range(iters):
        if rr.item() < tol:
            break
        ap = matvec(p)
        pap = torch.dot(p, ap)
        if pap.item() <= 0:  # not positive-definite along p: stop with what we have
            break
        alpha = rr / pap
        x = x + alpha * p
        r = r - alpha * ap
        rr_new = torch.dot(r, r)
        p = r + (rr_new / rr) * p
        rr = rr_new
    return x, float(rr.sqrt().item())


def fisher_vector_product(
    kl: torch.Tensor, params: Sequence[torch.Tensor], damping: float
) -> Callable[[torch.Tensor], torch.Tensor]:
    """``v -> (H_KL + damping I) v`` at the current parameters, by double back-propagation.

    ``kl`` must be ``KL(pi_old || pi_theta)`` computed with graph at ``theta = theta_old`` (its
    gradient there is 0 and its Hessian is the Fisher matrix). The first-order graph is built once;
    each product is one more backward pass through it.
    """
    grads = torch.autograd.grad(kl, list(params), create_graph=True)
    grad_kl = flat(grads)

    def product(v: torch.Tensor) -> torch.Tensor:
        hv = torch.autograd.grad(grad_kl @ v, list(params), retain_graph=True)
        return flat([h.detach() for h in hv]) + damping * v

    return product


@dataclass
class StepResult:
    """What one trust-region step did (all floats, for logging)."""

    accepted: bool
    fraction: float  # of the full KL-radius step taken (0 when rejected)
    kl: float  # measured KL of the applied step (0 when rejected: nothing moved)
    surrogate_gain: float  # L(theta_new) - L(theta_old) (0 when rejected)
    expected_gain: float  # g^T step of the full step: first-order prediction
    step_norm: float
    cg_residual: float
    backtracks: int
    tried_kl: float = 0.0  # measured KL of the last step the line search tried


def line_search(
    params: Sequence[torch.Tensor],
    old: torch.Tensor,
    full_step: torch.Tensor,
    evaluate: Callable[[], tuple[float, float]],
    surrogate_old: float,
    delta: float,
    max_backtracks: int = 10,
    backtrack_ratio: float = 0.5,
) -> tuple[bool, float, float, float, int]:
    """Try ``old + f * full_step`` for ``f = 1, ratio, ratio^2, ...``; accept the first with a
    measured surrogate gain > 0 and measured KL <= ``delta``. ``evaluate()`` returns ``(L, KL)``
    at the parameters currently set. On failure the parameters are restored to ``old``.

    Returns ``(accepted, fraction, kl, gain, backtracks)``; on failure ``kl`` is that of the last
    step tried (not applied).
    """
    fraction, kl = 1.0, float("nan")
    for n in range(max_backtracks + 1):
        set_flat(params, old + fraction * full_step)
        surrogate, kl = evaluate()
        gain = surrogate - surrogate_old
        if gain > 0 and kl <= delta:
            return True, fraction, kl, gain, n
        fraction *= backtrack_ratio
    set_flat(params, old)
    return False, 0.0, kl, 0.0, max_backtracks + 1


def trust_region_step(
    params: Sequence[torch.Tensor],
    surrogate_and_kl: Callable[[bool], tuple[torch.Tensor, torch.Tensor]],
    delta: float,
    cg_iters: int = 10,
    damping: float = 0.1,
    max_backtracks: int = 10,
    backtrack_ratio: float = 0.5,
) -> StepResult:
    """One TRPO update of ``params`` in place.

    ``surrogate_and_kl(grad)`` returns ``(L, KL)`` at the current parameters as scalar tensors,
    with autograd graph when ``grad`` is True (L is maximised; KL is to the frozen old policy).
    """
    params = list(params)
    surrogate, kl = surrogate_and_kl(True)
    g = flat(torch.autograd.grad(surrogate, params, retain_graph=True)).detach()
    if not torch.isfinite(g).all() or g.abs().max().item() == 0.0:
        return StepResult(False, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0)
    fvp = fisher_vector_product(kl, params, damping)
    direction, residual = conjugate_gradient(fvp, g, cg_iters)
    shs = torch.dot(direction, fvp(direction)).item()  # x^T F x
    if not shs > 0:
        return StepResult(False, 0.0, 0.0, 0.0, 0.0, 0.0, residual, 0)
    full_step = direction * (2.0 * delta / shs) ** 0.5
    expected = torch.dot(g, full_step).item()
    del fvp, kl
    old = flat([p.detach() for p in params]).clone()

    def evaluate() -> tuple[float, float]:
        with torch.no_grad():
            s, k = surrogate_and_kl(False)
        return float(s.item()), float(k.item())

    accepted, fraction, kl_value, gain, backtracks = line_search(
        params,
        old,
        full_step,
        evaluate,
        float(surrogate.item()),
        delta,
        max_backtracks,
        backtrack_ratio,
    )
    return StepResult(
        accepted=accepted,
        fraction=fraction,
        kl=kl_value if accepted else 0.0,
        surrogate_gain=gain,
        expected_gain=expected,
        step_norm=float(full_step.norm().item()) * fraction,
        cg_residual=residual,
        backtracks=backtracks,
        tried_kl=kl_value,
    )
