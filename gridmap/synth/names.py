"""Deterministic Chinese-looking names for the synthetic world: communities, estates, people, phones.

Pure functions of a ``numpy.random.Generator``; nothing here is a real person or a real phone number
(numbers use the 170/171 virtual-operator prefixes and are random).
"""

from __future__ import annotations

import numpy as np

_PLACE = list(
    "春阳正华锦绣和平兴盛长城安居乐业明珠翠湖青山绿水东城西苑南湖北岭金桥银河瑞祥福康"
    "嘉禾润泽云海天泰宝龙新城丽景恒昌永宁书香桃源凤凰白沙古庙仙山流亭棘洪岙河"
)
_ESTATE_SUFFIX = ["花园", "小区", "家园", "苑", "新村", "名邸", "公寓", "雅居", "佳苑", "国际"]
_SURNAMES = list(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
_GIVEN = list(
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国玉兰志强海燕红梅文博子轩浩然梓涵一诺欣怡宇航思远雨桐晨曦"
)


def place_names(rng: np.random.Generator, n: int, *, suffix: str = "社区", taken: set[str] | None = None) -> list[str]:
    """``n`` distinct two-character place names ending in ``suffix`` (not in ``taken``)."""
    taken = set(taken or ())
    out: list[str] = []
    while len(out) < n:
        a, b = rng.choice(len(_PLACE), size=2)
        name = _PLACE[a] + _PLACE[b] + suffix
        if a != b and name not in taken:
            taken.add(name)
            out.append(name)
    return out


def estate_names(rng: np.random.Generator, n: int, *, taken: set[str] | None = None) -> list[str]:
    """``n`` distinct estate names such as ``锦绣花园``."""
    taken = set(taken or ())
    out: list[str] = []
    while len(out) < n:
        a, b = rng.choice(len(_PLACE), size=2)
        name = _PLACE[a] + _PLACE[b] + _ESTATE_SUFFIX[int(rng.integers(len(_ESTATE_SUFFIX)))]
        if a != b and name not in taken:
            taken.add(name)
            out.append(name)
    return out


def person_names(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` person names (surname + one or two given characters), vectorised."""
    s = np.asarray(_SURNAMES, dtype=object)[rng.integers(len(_SURNAMES), size=n)]
    g = np.asarray(_GIVEN, dtype=object)
    g1 = g[rng.integers(len(g), size=n)]
    g2 = np.where(rng.random(n) < 0.6, g[rng.integers(len(g), size=n)], "")
    return s + g1 + g2


def phones(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` 11-digit mobile numbers with virtual-operator prefixes 170/171 (not real subscribers)."""
    prefix = np.where(rng.random(n) < 0.5, 170, 171).astype(np.int64)
    return (prefix * 10**8 + rng.integers(0, 10**8, size=n)).astype(str).astype(object)
