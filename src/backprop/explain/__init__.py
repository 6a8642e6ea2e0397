"""The seed's equations (10)-(17), step by step, with a tiny network's own numbers.

``explain(...)`` builds a small float64 network (by default the seed's 2-3-2
shape: sigmoid hidden layer, sigmoid outputs, binary cross-entropy), runs one
forward and one backward pass on an XOR-like example, and recomputes every
quantity *by hand* in the seed's column-vector form:

- the forward pass z⁽ˡ⁺¹⁾ = W⁽ˡ⁾a⁽ˡ⁾ + b⁽ˡ⁾, a⁽ˡ⁺¹⁾ = f(z⁽ˡ⁺¹⁾) and the cost J;
- (10) δ⁽ᴸ⁾ = a⁽ᴸ⁾ - y and, separately, (11) ∂J/∂a⁽ᴸ⁾ ⊙ ∂a⁽ᴸ⁾/∂z⁽ᴸ⁾;
- (12) δ⁽ˡ⁾ = W⁽ˡ⁾ᵀδ⁽ˡ⁺¹⁾ ⊙ f'(z⁽ˡ⁾) and its chain rule (13) as explicit sums;
- (14)-(17) ∇⁽ˡ⁾ = δ⁽ˡ⁺¹⁾a⁽ˡ⁾ᵀ, as a matrix product and as explicit sums,
  each checked against central finite differences of J;
- the update ΔW = -η∇, W ← W + ΔW, and J before and after it.

Every hand-computed array is compared with the engine's own value
(``Network.cache``, ``Network.backward``, ``SGD.step``), and the comparison is
part of the result.  The result renders as terminal text (``to_text``),
markdown with LaTeX (``to_markdown``) or a self-contained HTML page whose
mathematics is plain HTML, Unicode and CSS (``to_html``): no script, no
network access.

The seed is the derivation text this project grows from: a network with a
sigmoid hidden layer, sigmoid outputs and the cross-entropy cost, whose backward
pass it writes as equations (10)-(17).

The package: ``build`` (options, one run of the engine), ``sections`` and
``backward`` (one function per section, each computing by hand and comparing),
``hand`` (the independent formulas), ``walk`` (what the sections share),
``model`` (the result as data), ``text`` and ``markup`` (the renderers),
``coderefs`` (the explicit table of where each equation lives).

In the seed's notation a sample is a column, so arrays are shown (and stored
in ``Explanation.values``) in column form: one column per sample, shape
(units, N).  The engine works row-major, (N, units); ``Explanation.engine``
holds its values transposed into the same column form.
"""

from backprop.explain.build import explain
from backprop.explain.coderefs import CodeRef, code_refs
from backprop.explain.model import (
    FD_LIMIT,
    FD_STEP,
    HIDDEN_ACTIVATIONS,
    LOSS_NAMES,
    MAX_BATCH,
    MAX_DEPTH,
    MAX_UNITS,
    OUTPUT_ACTIVATIONS,
    SAME_LIMIT,
    Check,
    Equation,
    Explanation,
    Note,
    Step,
    Sym,
)
from backprop.explain.text import format_number

__all__ = [
    "FD_LIMIT",
    "FD_STEP",
    "HIDDEN_ACTIVATIONS",
    "LOSS_NAMES",
    "MAX_BATCH",
    "MAX_DEPTH",
    "MAX_UNITS",
    "OUTPUT_ACTIVATIONS",
    "SAME_LIMIT",
    "Check",
    "CodeRef",
    "Equation",
    "Explanation",
    "Note",
    "Step",
    "Sym",
    "code_refs",
    "explain",
    "format_number",
]
