"""TRPO's pieces on small problems with known answers: conjugate gradient against a direct solve,
the Fisher-vector product against the explicit Hessian of the KL, and the trust-region step on a
small softmax policy, whose KL and surrogate are re-measured here independently."""

from __future__ import annotations

import pytest


@pytest.fixture
def torch():
    import torch

    torch.manual_seed(0)
    return torch


def test_conjugate_gradient_solves_a_known_spd_system(torch) -> None:
    from assay_trl.trust_region import conjugate_gradient

    m = torch.randn(6, 6, dtype=torch.float64)
    a = m @ m.T + 6 * torch.eye(6, dtype=torch.float64)
    b = torch.randn(6, dtype=torch.float64)
    x, residual = conjugate_gradient(lambda v: a @ v, b, iters=6, tol=1e-30)
    expected = torch.linalg.solve(a, b)
    assert torch.allclose(x, expected, atol=1e-8)
    assert residual < 1e-6
    # the textbook 2x2 example: [[4, 1], [1, 3]] x = [1, 2] -> x = [1/11, 7/11]
    a2 = torch.tensor([[4.0, 1.0], [1.0, 3.0]], dtype=torch.float64)
    x2, _ = conjugate_gradient(lambda v: a2 @ v, torch.tensor([1.0, 2.0], dtype=torch.float64), 2)
    assert torch.allclose(x2, torch.tensor([1 / 11, 7 / 11], dtype=torch.float64), atol=1e-12)


def _policy(torch, n_states: int = 5, n_actions: int = 4, dim: int = 3):
    """A linear softmax policy over ``n_actions`` for random state features."""
    features = torch.randn(n_states, dim, dtype=torch.float64)
    weight = torch.randn(dim, n_actions, dtype=torch.float64, requires_grad=True)
    return features, weight


def test_fisher_vector_product_is_the_hessian_of_the_kl(torch) -> None:
    from assay_trl.trust_region import fisher_vector_product

    features, weight = _policy(torch)
    old = torch.log_softmax(features @ weight.detach(), dim=-1)

    def kl_of(w):
        new = torch.log_softmax(features @ w, dim=-1)
        return (old.exp() * (old - new)).sum(-1).mean()

    damping = 0.05
    fvp = fisher_vector_product(kl_of(weight), [weight], damping)
    hessian = torch.autograd.functional.hessian(kl_of, weight.detach()).reshape(12, 12)
    for _ in range(3):
        v = torch.randn(12, dtype=torch.float64)
        assert torch.allclose(fvp(v), hessian @ v + damping * v, atol=1e-10)


def _bandit(torch, seed: int):
    torch.manual_seed(seed)
    features, weight = _policy(torch, n_states=8, n_actions=5)
    actions = torch.randint(0, 5, (8,))
    advantages = torch.randn(8, dtype=torch.float64)
    old_all = torch.log_softmax(features @ weight.detach(), dim=-1)

    def measure(w):
        new_all = torch.log_softmax(features @ w, dim=-1)
        ratio = torch.exp(new_all[torch.arange(8), actions] - old_all[torch.arange(8), actions])
        surrogate = (ratio * advantages).mean()
        kl = (old_all.exp() * (old_all - new_all)).sum(-1).mean()
        return surrogate, kl

    return weight, measure


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("delta", [1e-3, 1e-2, 0.2])
def test_every_accepted_step_improves_the_surrogate_within_the_kl_radius(torch, seed, delta):
    from assay_trl.trust_region import trust_region_step

    weight, measure = _bandit(torch, seed)
    before = weight.detach().clone()
    surrogate_before, _ = measure(before)
    result = trust_region_step(
        [weight], lambda grad: measure(weight), delta=delta, cg_iters=20, damping=1e-3
    )
    surrogate_after, kl_after = measure(weight.detach())  # re-measured here, not reported
    if delta <= 1e-2:  # the quadratic model is good this close: the step must go through
        assert result.accepted
    if result.accepted:
        assert kl_after.item() <= delta + 1e-12
        assert surrogate_after.item() > surrogate_before.item()
        assert result.kl == pytest.approx(kl_after.item())
        # the step was scaled to the KL radius: the quadratic model puts the full step at delta
        assert result.fraction <= 1.0
    else:
        assert torch.equal(weight.detach(), before)


def test_a_large_radius_step_is_cut_back_by_the_line_search(torch) -> None:
    """With a huge delta the full step overshoots the true (non-quadratic) KL less than delta but
    the surrogate may fall: whatever is accepted still satisfies both conditions."""
    from assay_trl.trust_region import trust_region_step

    weight, measure = _bandit(torch, 1)
    result = trust_region_step([weight], lambda grad: measure(weight), delta=5.0, damping=1e-3)
    _, kl = measure(weight.detach())
    assert not result.accepted or kl.item() <= 5.0


def test_a_rejected_line_search_restores_the_parameters(torch) -> None:
    from assay_trl.trust_region import line_search

    p = torch.nn.Parameter(torch.tensor([1.0, 2.0]))
    old = p.detach().clone()
    accepted, fraction, _, gain, tries = line_search(
        [p],
        old,
        torch.tensor([1.0, 1.0]),
        evaluate=lambda: (0.0, 0.0),  # never better than the old surrogate 0.0
        surrogate_old=0.0,
        delta=1.0,
        max_backtracks=3,
    )
    assert not accepted and fraction == 0.0 and gain == 0.0 and tries == 4
    assert torch.equal(p.detach(), old)


def test_a_step_over_the_kl_radius_is_never_accepted(torch) -> None:
    from assay_trl.trust_region import line_search

    p = torch.nn.Parameter(torch.tensor([0.0]))
    calls = []

    def evaluate():
        calls.append(float(p.detach()[0]))
        return 1.0, 10.0 * float(p.detach()[0])  # gain always, KL shrinks with the step

    accepted, fraction, kl, _, _ = line_search(
        [p], torch.tensor([0.0]), torch.tensor([1.0]), evaluate, 0.0, delta=1.0
    )
    assert accepted and kl <= 1.0 and fraction == pytest.approx(1 / 16)
    assert calls == [1.0, 0.5, 0.25, 0.125, 0.0625]
