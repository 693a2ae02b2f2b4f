"""Bytes → text for Chinese reports, refusing to guess when the guess would be mojibake.

Order of trust: a byte-order mark; strict UTF-8 (multibyte UTF-8 essentially never decodes by
accident); the declared charset when the bytes decode strictly with it and read as Chinese;
then GB18030 vs Big5 (Big5 bytes often decode *strictly* as GB18030, so we keep whichever reads as
common Chinese characters); charset-normalizer only as a last suggestion. Every candidate must pass
a plausibility check, so a strict-but-wrong decode never gets through.
"""

from __future__ import annotations

import codecs
import functools
import re

import charset_normalizer

__all__ = ["DecodeError", "decode_bytes"]


class DecodeError(ValueError):
    """The bytes cannot be turned into trustworthy text; `reason` says why, for a person."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# Codec names as we report them. GBK and GB2312 are subsets of GB18030, so we always use the superset.
_ALIASES = {
    "utf8": "utf-8",
    "utf-8": "utf-8",
    "utf-8-sig": "utf-8",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "gb18030": "gb18030",
    "cp936": "gb18030",
    "x-gbk": "gb18030",
    "euc-cn": "gb18030",
    "hz-gb-2312": "gb18030",
    "big5": "big5",
    "big5-hkscs": "big5hkscs",
    "big5hkscs": "big5hkscs",
    "cp950": "big5",
    "x-x-big5": "big5",
    "utf-16": "utf-16",
    "utf-16le": "utf-16-le",
    "utf-16-le": "utf-16-le",
    "utf-16be": "utf-16-be",
    "utf-16-be": "utf-16-be",
}

# Single-byte charsets decode any bytes at all, so a page that declares one (usually a server
# default) tells us nothing; we ignore them and rely on the Chinese codecs.
_SINGLE_BYTE = {"iso-8859-1", "latin-1", "latin1", "ascii", "us-ascii", "windows-1252", "cp1252"}

_MAGIC = (
    (b"%PDF", "a PDF file"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"PK\x03\x04", "a ZIP archive or Office document"),
    (b"\xd0\xcf\x11\xe0", "an old Office document"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"Rar!", "a RAR archive"),
    (b"7z\xbc\xaf", "a 7z archive"),
)

# Roughly the 1,000 most frequent characters of modern Chinese plus the poverty-report vocabulary.
# Real text has ~75-90% of its Han characters in this set; GB18030/Big5 mix-ups land far lower.
_COMMON_SIMPLIFIED = (
    "的一是不了在人有我他这个们中来上大为和国地到以说时要就出会可也你对生能而子那得于着下自之年过发后作里"
    "用道行所然家种事成方多经么去法学如都同现当没动面起看定天分还进好小部其些主样理心她本前开但因只从想实日"
    "军者意无力它与长把机十民第公此已工使情明性知全三又关点正业外将两高间由问很最重并物手应战向头文体政美相"
    "见被利什二等产或新己制身果加西斯月话合回特代内信表化老给世位次度门任常先海通教儿原东声提立及比员解水名"
    "真论处走义各入几口认条平系气题活尔更别打女变四神总何电数安少报才结反受目太量再感建务做接必场件计管期市"
    "直德资命山金指克许统区保至队形社便空决治展马科司五基眼书非则听白却界达光放强即像难且权思王象完设式色路"
    "记南品住告类求据程北边死张该交规万取拉格望觉术领共确传师观清今切院让识候带导争运笑飞风步改收根干造言联"
    "持组每济车亲极林服快办议往元英士证近失转夫令准布始怎呢存未远叫台单影具罗字爱击流备兵连调深商算质团集百"
    "需价花党华城石级整府离况亚请技际约示复病息究线似官火断精满支视消越器容照须九增研写称企八功吗包片史委乎"
    "查轻易早曾除农找装广显吧李标谈吃图念六引历首医局突专费号尽另周较注语仅考落青随选列武红响虽推势参希古众"
    "构房半节土投某案黑维革划敌致陈律足态护七兴派孩验责营星够章音跟志底站严巴例防族供效续施留讲型料终答紧黄"
    "绝奇察母京段依批群项故按河米围江织害斗双境客纪采举杀攻父苏密低朝友诉止细愿千值仍男钱破网热助倒育属坐限"
    "船脸职速刻乐否刚威毛状率甚独球般普怕弹校苦创假久错承印晚兰试股拿脑预谁益阳若哪微继送急血惊伤素药适波夜"
    "省初喜卫源食险待述陆习置居劳财环排福纳欢获模充负云停木游龙树疑层冷洲冲射略范竟句室异激汉村策演简卡罪判"
    "担州静退既衣您宗积余痛检差富灵协角占配征修皮挥胜降阶审沉坚善妈刘读超免压银买养怀执副乱抗犯追帮宣岁航优"
    "香著田铁控税左右份穿艺背阵草脚概恶块顿敢守酒岛托央户烈洋哥索胡款靠评版宝座释景顾弟登货互付慢换闻危忙核"
    "暗介坏讨丽良序升监临亮露永呼味野架域沙掉括鱼杂误湾吉减编楚肯测败屋跑梦散温困渐封救贵缺楼县尚毫移娘朋画"
    "班智亦耳恩短掌恐遗固席松秘谢遇康虑幸均销钟诗藏赶剧票损忽巨旧端探湖录叶春乡附吸予礼港雨板庭妇归饭额含顺"
    "输摇招婚脱补谓督油疗旅泽材灭逐莫笔亡鲜词圣择寻厂睡博勒烟授诺岸卖健堂旁宫借君禁阴园谋避抓荣姑孙逃牙束跳"
    "顶玉镇雪午练迫篇肉馆遍凡础洞卷坦牛宁纸诸训私庄祖丝翻森塔握戏隐熟骨访弱蒙歌店软典欲伙遭盘扩盖亿拥齐赛趣"
    "曲迎冰虚析妻透购替塞努途侵刑绿迅套贸毕唯谷轮库迹尤竞街促延震弃甲伟川申缓潜售灯针络抵植纯夏忍页杰筑折郑"
    "尊吴秀混振染盛措姓残秋培迷诚宽宇猛摆梅毁伸盟末乃拍丁赵硬麦操阻订彩抽赞纷沿违汇币丰蓝殊献援译夺汽烧距裁"
    "偏符勇触课敬懂墙召罚厅巧侧韩冒债融惯享童犹乘挂奖绍厚纵障讯涉彻刊丈爆役描洗患妙唱签彼症仿倾牌陷菜闭奋庆"
    "撤茶疾缘播朗季丹尾仪奔珠驻孔宜桥淡翼繁寒伴旦愈潮粮缩罢聚径恰挑袋灰捕徐珍幕映启尖忠累炎暂估泛荒偿横拒瑞"
    "忆孤零穷舍码婆灾洪胸晓劲贫仁偶辑邦恢赖圈润堆稍迟辆废净署壁御奉旋冬矿晨伏吹鸡倍秦盾租骑乏隆诊摄渡旗甘耐"
    "凭扎抢绪粗肩梁皆碎叔岩荡综悉壮薄扫敏碍殖详矛允幅剩凯颗赏液番箱贴漫酸腰舒眉忧浮辛餐挺励辞键伍峰尺昨黎辈"
    "贯侦滑券崇扰宪绕趋慈阅汗枝拖墨胁插腊粉泥氏彭拔凤慧媒佩龄驱惜豪兼跃肃驶届欣惠册储桑闲惨洁踪频磨递颜剂绩"
    "贡坡截燃焦殿柳锁逼颇劝呈搜勤驾漂饮曹柔俩孟腐幼践籍牧凉佳浓芳稿竹腹逻垂遵脉貌柏猜饰贷昌叙钢沟寄扶铺邓寿"
    "询汤肥辉奈扣廷澳董迁凝慰厌腾鞋埋泉涌辖晋紫艰魏吾祝邮挤邻割揭韦悟聪雾锋梯祥阔誉筹牵鸣沈阁穆屈旨袖贺柱抛"
    "牢迈琴衰瓶燕仲狼池吕玄尘冯抚浅敦纠钻晶峡苍喷耗凌菌赔涂粹扁亏煤熊恭湿循暖糖赋抑秩帽宿踏烂袁侯夹昆肝擦猪"
    "炼恒慎搬纽纹玻渔磁铜齿跨押疲兹祭履涨耀扭坛沃绘伐堪墓雇廉契捉覆刷劫瓜雕乳串娃缴赢莲桃妥搭赴岳嘉俊址庞耕"
    "锐缝邀玲惟宅添挖浩羽斤酷掠侍乙妨贪挣汪悬唇翰仓轨枚盐览傅庙芬屏寺颤劣柯寸扔辨饿蜂腔郁溃谨葛苗肠鸿鹏笼桂"
    "滋挡纲肌碗穴卓贤卧膜毅锦欠函昂薛夸豫舌剥携陵棉晴铃填饲扮喂慕奸扇柜悦诞饱泡亭夕酬卵氛泄杆蜜吟遂狭肖甜滩"
    "扶贫脱困攻坚帮档建卡摘帽易搬迁光伏菌菇蔬果畜禽牛羊猪鸡鹅养殖种植亩顷吨斤户均人均村集体收入增纯合作社"
    "贷款贴息保障兜底低保医疗教育住房饮水安全道路硬化电网宽带网络旅游电商就业培训转移务工公益岗位驻村第一书"
    "记工作队责任考核评估整改巡视督查衔接振兴巩固拓展成果监测防返致县乡镇街道社区屯组"
)


@functools.cache
def _common_chars() -> frozenset[str]:
    """Common simplified characters and their traditional forms (so Big5 text scores fairly)."""
    import opencc  # local import: only needed the first time a non-UTF-8 file shows up

    simplified = set(_COMMON_SIMPLIFIED)
    traditional = set(opencc.OpenCC("s2t").convert(_COMMON_SIMPLIFIED))
    return frozenset(simplified | traditional)


_HAN = re.compile(r"[\u4e00-\u9fff\u3400-\u4dbf]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1a\x1c-\x1f\x7f]")
_PRIVATE_USE = re.compile(r"[\ue000-\uf8ff]")
_SAMPLE = 200_000  # characters scored; enough to judge, cheap on a 20 MB file


def _plausibility(text: str) -> float:
    """0..1: how much `text` reads like real (Chinese or plain ASCII) text. <0.3 is mojibake."""
    sample = text[:_SAMPLE]
    if not sample or "\ufffd" in sample:
        return 0.0
    n = len(sample)
    bad = len(_CONTROL.findall(sample)) + 3 * len(_PRIVATE_USE.findall(sample))
    if bad / n > 0.002:
        return 0.0
    han = _HAN.findall(sample)
    non_ascii = sum(1 for ch in sample if ord(ch) > 127)
    if not han:
        # No Chinese at all: fine if it is (nearly) plain ASCII, otherwise a wrong codec
        # turned multibyte text into stray Latin/symbol characters.
        return 1.0 if non_ascii / n < 0.02 else 0.1
    common = _common_chars()
    share = sum(1 for ch in han if ch in common) / len(han)
    # Text that is mostly non-Han, non-ASCII (Hangul, kana, box drawing ...) is not a Chinese report.
    other = non_ascii - len(han)
    if other > len(han) and other / n > 0.2:
        share *= 0.5
    if len(han) < 20:
        # Too few characters to judge by frequency; accept unless none of them is common.
        return 1.0 if share > 0 else 0.2
    return share


_THRESHOLD = 0.3


def _canonical(name: str | None) -> str | None:
    if not name:
        return None
    key = name.strip().strip("\"'").lower().replace("_", "-")
    if key in _SINGLE_BYTE:
        return None
    if key in _ALIASES:
        return _ALIASES[key]
    try:
        return codecs.lookup(key).name
    except LookupError:
        return None


def _strict(data: bytes, codec: str) -> tuple[str | None, UnicodeDecodeError | None]:
    try:
        return data.decode(codec), None
    except UnicodeDecodeError as exc:
        return None, exc
    except LookupError:
        return None, None


def _looks_binary(data: bytes) -> str | None:
    for magic, what in _MAGIC:
        if data.startswith(magic):
            return f"bytes are not text (binary data: looks like {what})"
    return None


def _utf16_without_bom(data: bytes) -> str | None:
    """Guess the byte order of BOM-less UTF-16 from where the NUL bytes of ASCII characters sit."""
    head = data[:65536]
    if len(head) < 4 or head.count(0) == 0:
        return None
    even = head[0::2].count(0)
    odd = head[1::2].count(0)
    if odd >= 4 * max(even, 1) and odd >= len(head) // 40:
        return "utf-16-le"
    if even >= 4 * max(odd, 1) and even >= len(head) // 40:
        return "utf-16-be"
    return None


def _decode_bom(data: bytes) -> tuple[str, str] | None:
    boms = (
        (codecs.BOM_UTF32_LE, "utf-32-le", "utf-32"),
        (codecs.BOM_UTF32_BE, "utf-32-be", "utf-32"),
        (codecs.BOM_UTF8, "utf-8", "utf-8"),
        (codecs.BOM_UTF16_LE, "utf-16-le", "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16-be", "utf-16"),
    )
    for bom, codec, reported in boms:
        if not data.startswith(bom):
            continue
        body = data[len(bom) :]
        text, err = _strict(body, codec)
        if err is not None:
            raise DecodeError(_describe_error(reported, err, offset=len(bom), total=len(data)))
        assert text is not None
        if "\x00" in text or _plausibility(text) < _THRESHOLD:
            raise DecodeError(
                f"cannot decode: starts with a {reported.upper()} byte-order mark "
                "but the text after it is not readable"
            )
        return text, reported
    return None


def _describe_error(codec: str, err: UnicodeDecodeError, *, offset: int = 0, total: int) -> str:
    at = err.start + offset
    name = codec.upper().replace("HKSCS", "-HKSCS")
    if err.reason.startswith("unexpected end of data") or (err.end + offset >= total and total - at <= 3):
        return f"cannot decode: truncated {name} sequence at byte {at} (the file ends mid-character)"
    return f"cannot decode: invalid {name} sequence at byte {at}"


# Stray NUL bytes in text that is otherwise valid (a bad copy, an editor crash) are dropped, up to
# this share of the bytes; more than that, or two in a row, and the file is binary.
_STRAY_NUL_SHARE = 0.001


def decode_bytes(data: bytes, declared_charset: str | None = None) -> tuple[str, str]:
    """Decode a report's bytes; return (text, codec). Raise DecodeError rather than return mojibake.

    `declared_charset` (from an HTML meta tag or an HTTP header) is used when the bytes decode
    strictly with it and the result reads as text; GBK/GB2312 are reported as "gb18030". Control
    characters (NUL, backspace ...) are removed from text that is otherwise valid.
    """
    text, codec = _decode(data, declared_charset)
    return strip_control_characters(text), codec


def strip_control_characters(text: str) -> str:
    """Text without C0 control characters other than tab, line feed, form feed and carriage return."""
    return _CONTROL_OR_ESC.sub("", text) if _CONTROL_OR_ESC.search(text) else text


_CONTROL_OR_ESC = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


def _decode(data: bytes, declared_charset: str | None) -> tuple[str, str]:
    if not data:
        raise DecodeError("file is empty")
    magic = _looks_binary(data)
    if magic:
        raise DecodeError(magic)

    bom = _decode_bom(data)
    if bom is not None:
        return bom

    if b"\x00" in data:
        codec = _utf16_without_bom(data)
        if codec is not None:
            text, err = _strict(data, codec)
            if text is not None and "\x00" not in text and _plausibility(text) >= _THRESHOLD:
                return text, "utf-16"
        if b"\x00\x00" in data or data.count(0) > max(1, int(len(data) * _STRAY_NUL_SHARE)):
            raise DecodeError("bytes are not text (binary data: contains NUL bytes)")
        # A few stray, single NULs: in UTF-8, GB18030 and Big5 a 0 byte is only ever U+0000, so
        # dropping them leaves the rest of the text as it was. (Runs of NULs are binary padding.)
        data = data.replace(b"\x00", b"")

    text, utf8_err = _strict(data, "utf-8")
    if text is not None:
        # Valid multibyte UTF-8 does not happen by accident, so only damage disqualifies it.
        if "\ufffd" in text:
            raise DecodeError(
                "cannot decode: the text contains U+FFFD replacement characters "
                "(it was garbled before it was saved)"
            )
        if len(_CONTROL.findall(text[:_SAMPLE])) > max(2, len(text[:_SAMPLE]) // 500):
            raise DecodeError("bytes are not text (binary data: control characters)")
        return text, "utf-8"

    declared = _canonical(declared_charset)
    tried: dict[str, tuple[str | None, UnicodeDecodeError | None]] = {}
    for codec in (declared, "gb18030", "big5hkscs"):
        if codec and codec != "utf-8" and codec not in tried:
            tried[codec] = _strict(data, codec)

    scored = {codec: _plausibility(t) for codec, (t, _) in tried.items() if t is not None}
    if declared in scored and scored[declared] >= _THRESHOLD:
        # Trust the declaration unless another codec reads clearly better (a Big5 page
        # labelled gb2312, say) — strict GB18030 decodes most Big5 bytes into nonsense.
        best_other = max((s for c, s in scored.items() if c != declared), default=0.0)
        if best_other < scored[declared] + 0.25:
            return tried[declared][0] or "", _report_name(declared)
    if scored:
        codec = max(scored, key=lambda c: scored[c])
        if scored[codec] >= _THRESHOLD:
            return tried[codec][0] or "", _report_name(codec)

    # Last suggestion from charset-normalizer (other CJK codecs, odd single-byte pages).
    guess = _normalizer_guess(data)
    if guess and guess not in tried and guess != "utf-8":
        text, err = _strict(data, guess)
        if text is not None and _HAN.search(text[:_SAMPLE]) and _plausibility(text) >= _THRESHOLD:
            return text, _report_name(guess)
        tried[guess] = (text, err)

    raise DecodeError(_explain_failure(data, utf8_err, tried, scored))


def _report_name(codec: str) -> str:
    return "big5" if codec in ("big5hkscs", "big5") else codec


def _normalizer_guess(data: bytes) -> str | None:
    try:
        best = charset_normalizer.from_bytes(data[:200_000]).best()
    except Exception:  # a detector failure must not hide the real decoding problem
        return None
    return _canonical(best.encoding) if best is not None else None


def _explain_failure(
    data: bytes,
    utf8_err: UnicodeDecodeError | None,
    tried: dict[str, tuple[str | None, UnicodeDecodeError | None]],
    scored: dict[str, float],
) -> str:
    """Name the codec that explains most of the file and where it breaks."""
    errors: dict[str, UnicodeDecodeError] = {}
    if utf8_err is not None:
        errors["utf-8"] = utf8_err
    errors.update({c: e for c, (_, e) in tried.items() if e is not None})
    # A codec whose readable prefix is real Chinese is the file's codec; the break is damage.
    explained = []
    for codec, err in errors.items():
        prefix = data[: err.start].decode(codec, errors="strict") if err.start else ""
        if err.start >= 2 and _plausibility(prefix) >= _THRESHOLD and _HAN.search(prefix[:_SAMPLE]):
            explained.append((err.start, codec, err))
    if explained:
        _, codec, err = max(explained, key=lambda item: item[0])
        return _describe_error(_report_name(codec), err, total=len(data))
    if _control_share(data) > 0.05:
        return "bytes are not text (binary data)"
    if scored:
        names = ", ".join(_report_name(c).upper() for c in scored)
        return f"cannot decode: the bytes decode as {names} only into unreadable characters (mojibake)"
    names = ", ".join(_report_name(c).upper() for c in errors)
    return f"cannot decode: not valid text in any of {names}"


def _control_share(data: bytes) -> float:
    head = data[:65536]
    controls = sum(1 for b in head if b < 32 and b not in (9, 10, 12, 13, 27))
    return controls / len(head)
