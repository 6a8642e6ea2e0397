"""The backward pass of the walk-through: (10)-(11) the output error, (12)-(13) the hidden
errors, (14)-(17) the gradients, each by hand, against the engine and finite differences.
"""

from __future__ import annotations

import numpy as np

from backprop.engine.gradcheck import relative_error
from backprop.explain.hand import (
    _dloss,
    _fprime,
    _max_diff,
    _output_delta,
)
from backprop.explain.model import (
    FD_LIMIT,
    FD_STEP,
    SAME_LIMIT,
    Check,
    Equation,
    Note,
    Step,
    Sym,
)
from backprop.explain.symbols import (
    _S,
    EQ,
    MINUS,
    ODOT,
    _a,
    _delta,
    _fprime_sym,
    _sup,
)
from backprop.explain.walk import Walk

_DLOSS_TEXT = {

        "binary_crossentropy": ("(a - y) / (a(1 - a))", "\\frac{a - y}{a(1 - a)}"),
        "categorical_crossentropy": ("-y / a", "-\\frac{y}{a}"),
        "mse": ("a - y", "a - y"),
}


def _output_error(w: Walk) -> Step:
    output, loss, N, L, nw = w.output, w.loss, w.N, w.L, w.nw
    net, Y, cache, v, e = w.net, w.Y, w.cache, w.v, w.e
    checks, same = w.checks, w.same
    aL, y = v[f"a{L}"], v["y"]
    items: list = []
    dS, aS, zS = _delta(L), _S("a", L), _S("z", L)
    d10 = aL - y
    g = _dloss(loss, aL, y)
    fp = _fprime(output, v[f"z{L}"], aL)
    d11 = _output_delta(output, v[f"z{L}"], aL, g)
    v[f"dJda{L}"], v[f"dadz{L}"] = g, fp
    e[f"dJda{L}"] = net.loss.grad(cache["a"][-1], Y).T
    v["a_minus_y"] = d10
    shortcut = net.shortcut
    dJ = Sym(f"∂J/∂{aS.text}", f"\\frac{{\\partial J}}{{\\partial {aS.tex}}}")
    dadz = Sym(f"∂{aS.text}/∂{zS.text}", f"\\frac{{\\partial {aS.tex}}}{{\\partial {zS.tex}}}")
    items.append(
        Note(
            "The seed's δ is per sample: δ = ∂ℓ/∂z of that sample's loss ℓ. "
            + ("J is the mean over the batch, so ∂J/∂z of sample n is δₙ/N. " if N > 1 else "")
            + "Its derivative ∂J/∂a below means ∂ℓ/∂a, sample by sample."
        )
    )
    if shortcut:
        items.append(
            Equation(
                f"{dS.text} = {aS.text} - y", f"{dS.tex} = {aS.tex} - y", "10",
                [dS, EQ, aL, MINUS, y, EQ, d10],
            )
        )
        v[f"delta{L}"] = d10
    else:
        items.append(
            Note(
                f"(10) δ = a - y is a shortcut that holds for sigmoid with binary cross-entropy, "
                f"softmax with categorical cross-entropy and identity with mse. With {output} "
                f"and {loss} it does not hold: a - y is not δ here, so δ comes from (11)."
            )
        )
        items.append(
            Equation(f"{aS.text} - y", f"{aS.tex} - y", "10", [aS, MINUS, Sym("y", "y"), EQ, d10])
        )
        v[f"delta{L}"] = d11
    items.append(Equation(f"{dS.text} = {dJ.text} · {dadz.text}",
                          f"{dS.tex} = {dJ.tex} \\cdot {dadz.tex}", "11"))
    dl_text = _DLOSS_TEXT[loss]
    items.append(Equation(f"{dJ.text} = {dl_text[0]}", f"{dJ.tex} = {dl_text[1]}", "",
                          [dJ, EQ, g]))
    same(f"dJda{L}", f"∂J/∂{aS.text} equals the engine's net.loss.grad(a, y)")
    _output_factor(w, items, dS, dJ, dadz, g, fp, d11)
    v["delta_by_11"] = d11
    if shortcut:
        v["delta_by_10"] = d10
        checks.append(Check(f"(10) and (11) give the same {dS.text}", "max |difference|",
                            _max_diff(d10, d11), SAME_LIMIT))
    same(f"delta{L}", f"{dS.text} equals the engine's net.cache['delta'][{nw - 1}]")
    return Step(f"Output error {dS.text}", ("10", "11"), items)


def _output_factor(w: Walk, items: list, dS: Sym, dJ: Sym, dadz: Sym, g: np.ndarray,
                   fp: np.ndarray, d11: np.ndarray) -> None:
    """∂a⁽ᴸ⁾/∂z⁽ᴸ⁾ and (11) as a product: the full Jacobian for softmax, else ⊙ f'."""
    output, loss, L = w.output, w.loss, w.L
    if output == "softmax":
        items.append(
            Note(
                "softmax couples the outputs of a sample: ∂aₖ/∂zⱼ = aₖ(δₖⱼ - aⱼ) is a full "
                "Jacobian matrix, not one number per unit. By the general chain rule each "
                "δⱼ = Σₖ ∂J/∂aₖ · ∂aₖ/∂zⱼ: every output's error reaches every z. Its diagonal "
                "aⱼ(1 - aⱼ) is shown; the product below uses the whole matrix."
            )
        )
        items.append(Equation(
            "δⱼ = Σₖ ∂J/∂aₖ · aₖ(δₖⱼ - aⱼ)",
            "\\delta_j = \\sum_k \\frac{\\partial J}{\\partial a_k} a_k(\\delta_{kj} - a_j)",
            "", [Sym(f"diag {dadz.text}", f"\\operatorname{{diag}} {dadz.tex}"), EQ, fp,
                 Sym(f"  {dS.text}", dS.tex), EQ, d11]))
    else:
        fS = _fprime_sym(output, L)
        items.append(Equation(f"{dadz.text} = {fS.text}", f"{dadz.tex} = {fS.tex}", "",
                              [dadz, EQ, fp]))
        items.append(Equation(f"{dS.text} = {dJ.text} ⊙ {dadz.text}",
                              f"{dS.tex} = {dJ.tex} \\odot {dadz.tex}", "11",
                              [dS, EQ, g, ODOT, fp, EQ, d11]))
        if output != "sigmoid" or loss != "binary_crossentropy":
            items.append(Note(
                f"In words: the chain rule takes the loss's sensitivity to each output "
                f"({dJ.text}) and multiplies it, unit by unit, by how fast the {output} output "
                f"moves with its input z ({dadz.text})."
            ))
        else:
            items.append(Note("a(1 - a) cancels the denominator of ∂J/∂a: that is why (10) holds."))


def _hidden_errors(w: Walk) -> Step:
    sizes, acts, N, L, nw = w.sizes, w.acts, w.N, w.L, w.nw
    v, checks, same = w.v, w.checks, w.same
    items = []
    if nw == 1:
        items.append(Note("This network has no hidden layer, so (12) and (13), which carry δ back "
                          "through a hidden layer, have nothing to do."))
    for k in range(L - 1, 1, -1):
        name = acts[k - 2]
        W, dn = v[f"W{k}"], v[f"delta{k + 1}"]
        z, a = v[f"z{k}"], v[f"a{k}"]
        back = W.T @ dn
        fp = _fprime(name, z, a)
        d12 = back * fp
        # (13): the same, one unit and one sample at a time
        d13 = np.zeros_like(d12)
        for n in range(N):
            for j in range(sizes[k - 1]):
                total = 0.0
                for kk in range(sizes[k]):
                    total += dn[kk, n] * W[kk, j]
                d13[j, n] = total * fp[j, n]
        v[f"delta{k}"], v[f"back{k}"], v[f"fprime{k}"] = d12, back, fp
        dS, dnS, WT, fS = _delta(k), _delta(k + 1), _S("W", k, T=True), _fprime_sym(name, k)
        items.append(Equation(
            f"{dS.text} = {WT.text}{dnS.text} ⊙ {fS.text}",
            f"{dS.tex} = {WT.tex}{dnS.tex} \\odot {fS.tex}", "12",
            [dS, EQ, W.T, dn, ODOT, fp, EQ, d12],
        ))
        items.append(Note(
            f"Shapes: {WT.text} is {W.shape[1]}×{W.shape[0]}, {dnS.text} is {dn.shape[0]}×{N}, "
            f"so {WT.text}{dnS.text} is {back.shape[0]}×{N}, the shape of {_S('z', k).text}; "
            f"⊙ multiplies elementwise by f'({_S('z', k).text}) ({name})."
        ))
        jS = f"δ{_sup(k)}ⱼ"
        items.append(Equation(
            f"{jS} = Σₖ ∂J/∂z{_sup(k + 1)}ₖ · ∂z{_sup(k + 1)}ₖ/∂a{_sup(k)}ⱼ · "
            f"∂a{_sup(k)}ⱼ/∂z{_sup(k)}ⱼ = (Σₖ δ{_sup(k + 1)}ₖ W{_sup(k)}ₖⱼ) f'(z{_sup(k)}ⱼ)",
            f"\\delta^{{({k})}}_j = \\sum_k \\frac{{\\partial J}}{{\\partial z^{{({k + 1})}}_k}}"
            f"\\frac{{\\partial z^{{({k + 1})}}_k}}{{\\partial a^{{({k})}}_j}}"
            f"\\frac{{\\partial a^{{({k})}}_j}}{{\\partial z^{{({k})}}_j}}"
            f" = \\Big(\\sum_k \\delta^{{({k + 1})}}_k W^{{({k})}}_{{kj}}\\Big) f'(z^{{({k})}}_j)",
            "13",
        ))
        items.append(Note(
            "In words: unit j of layer " + str(k) + " feeds every unit k above it through the "
            "weight Wₖⱼ, so its error is the sum of their errors weighted by those weights, "
            "times how fast its own output moves with its input. Summed by hand, unit by unit:"
        ))
        checks.append(Check(f"(12) as a matrix product and (13) as sums give the same {dS.text}",
                            "max |difference|", _max_diff(d12, d13), SAME_LIMIT))
        same(f"delta{k}", f"{dS.text} equals the engine's net.cache['delta'][{k - 2}]")
    return Step("Hidden errors δ, layer by layer" if nw > 2 else
                      ("Hidden error " + _delta(2).text if nw == 2 else "Hidden errors"),
                      ("12", "13"), items)


def _gradients(w: Walk) -> Step:
    N, L, v, e, checks = w.N, w.L, w.v, w.e, w.checks
    fd, fd_errors, numeric, same = w.fd, w.fd_errors, w.numeric, w.same
    items = []
    if N > 1:
        items.append(Note(
            f"J is the mean over the N = {N} samples, so each gradient is the mean of the "
            "per-sample ones: ∇⁽ˡ⁾ = (1/N) Σₙ δ⁽ˡ⁺¹⁾ₙ a⁽ˡ⁾ₙᵀ = (1/N) δ⁽ˡ⁺¹⁾a⁽ˡ⁾ᵀ with the "
            "samples as columns; likewise ∂J/∂b⁽ˡ⁾ = (1/N) Σₙ δ⁽ˡ⁺¹⁾ₙ."
        ))
    for k in range(L - 1, 0, -1):
        i = k - 1
        dn, a_in = v[f"delta{k + 1}"], v[f"a{k}"]
        gW = dn @ a_in.T / N
        gW_sum = np.zeros_like(gW)
        for n in range(N):
            gW_sum += np.outer(dn[:, n], a_in[:, n])  # (15)/(17): δₖ aⱼ, one sample
        gW_sum /= N
        gb = dn.mean(axis=1, keepdims=True)
        v[f"grad_W{k}"], v[f"grad_b{k}"] = gW, gb
        fd[f"grad_W{k}"], fd[f"grad_b{k}"] = numeric[2 * i], numeric[2 * i + 1][:, None]
        gS, dnS, inT = _S("∇", k, "\\nabla"), _delta(k + 1), _a(k, T=True)
        tag, chain = _gradient_tags(k, L, items)
        scale = Sym(f"(1/{N})", f"\\tfrac{{1}}{{{N}}}") if N > 1 else None
        num_terms: list = [gS, EQ] + ([scale] if scale else []) + [dn, a_in.T, EQ, gW]
        lead_t, lead_x = ("(1/N) ", "\\tfrac{1}{N}") if N > 1 else ("", "")
        items.append(Equation(f"{gS.text} = {lead_t}{dnS.text}{inT.text}",
                              f"{gS.tex} = {lead_x}{dnS.tex}{inT.tex}", tag, num_terms))
        if L == 2:
            items.append(Equation(f"{gS.text} = {lead_t}{dnS.text}{inT.text}",
                                  f"{gS.tex} = {lead_x}{dnS.tex}{inT.tex}", "16"))
        inj = "xⱼ" if k == 1 else f"a{_sup(k)}ⱼ"
        inj_tex = "x_j" if k == 1 else f"a^{{({k})}}_j"
        items.append(Equation(
            f"∂J/∂W{_sup(k)}ₖⱼ = ∂J/∂z{_sup(k + 1)}ₖ · ∂z{_sup(k + 1)}ₖ/∂W{_sup(k)}ₖⱼ"
            f" = δ{_sup(k + 1)}ₖ {inj}",
            f"\\frac{{\\partial J}}{{\\partial W^{{({k})}}_{{kj}}}} = "
            f"\\frac{{\\partial J}}{{\\partial z^{{({k + 1})}}_k}}"
            f"\\frac{{\\partial z^{{({k + 1})}}_k}}{{\\partial W^{{({k})}}_{{kj}}}}"
            f" = \\delta^{{({k + 1})}}_k {inj_tex}",
            chain,
        ))
        if L == 2:
            items.append(Equation("(the same chain rule)", "\\text{(the same chain rule)}", "15"))
        items.append(Note(
            f"In words: W{_sup(k)}ₖⱼ touches J only through z{_sup(k + 1)}ₖ, which changes by "
            f"{inj} per unit of Wₖⱼ; so the gradient is δₖ times {inj}"
            + (", averaged over the samples." if N > 1 else ".")
        ))
        bS = _S("b", k)
        items.append(Equation(
            f"∂J/∂{bS.text} = {lead_t}Σₙ {dnS.text}" if N > 1 else f"∂J/∂{bS.text} = {dnS.text}",
            f"\\frac{{\\partial J}}{{\\partial {bS.tex}}} = "
            + (f"\\tfrac1N\\sum_n {dnS.tex}" if N > 1 else dnS.tex),
            "",
            [Sym(f"∂J/∂{bS.text}", f"\\frac{{\\partial J}}{{\\partial {bS.tex}}}"), EQ, gb],
        ))
        checks.append(Check(f"({tag}) as a matrix product and ({chain}) as sums give the same "
                            f"{gS.text}", "max |difference|", _max_diff(gW, gW_sum), SAME_LIMIT))
        same(f"grad_W{k}", f"{gS.text} equals the engine's backward()[{2 * i}]")
        same(f"grad_b{k}", f"∂J/∂{bS.text} equals the engine's backward()[{2 * i + 1}]")
        for key, label in ((f"grad_W{k}", gS.text), (f"grad_b{k}", f"∂J/∂{bS.text}")):
            err = relative_error(e[key], fd[key])
            fd_errors[key] = err
            checks.append(Check(f"{label} against central differences of J (h = {FD_STEP:g})",
                                "relative error", err, FD_LIMIT))
    return Step("Gradients ∇, layer by layer", ("14", "15", "16", "17"), items)


def _gradient_tags(k: int, L: int, items: list) -> tuple[str, str]:
    """The seed's tags of layer k's gradient and its chain rule: (14)/(15) or (16)/(17)."""
    if k == L - 1 and k == 1:
        tag, chain = "14", "17"
        items.append(Note("With one layer of weights, (14) for the last layer and (16) for "
                          "the first are the same equation; (15) and (17) are its chain rule."))
    elif k == L - 1:
        tag, chain = "14", "15"
    elif k == 1:
        tag, chain = "16", "17"
    else:
        tag, chain = "14", "15"
        items.append(Note(f"Layer {k} is in the middle: the same pattern as (14) and (16)."))
    return tag, chain
