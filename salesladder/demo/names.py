"""Word pools for the demo organisation: Chinese and English companies, people, job titles and notes.

Chinese words carry their pinyin so domains and e-mail addresses look real.
"""

from __future__ import annotations

CN_CITIES = [
    ("上海", "sh"),
    ("北京", "bj"),
    ("深圳", "sz"),
    ("杭州", "hz"),
    ("苏州", "suzhou"),
    ("南京", "nj"),
    ("广州", "gz"),
    ("成都", "cd"),
    ("武汉", "wh"),
    ("宁波", "nb"),
    ("天津", "tj"),
    ("厦门", "xm"),
]
CN_CORES = [
    ("华信", "huaxin"),
    ("远航", "yuanhang"),
    ("明达", "mingda"),
    ("恒通", "hengtong"),
    ("中科", "zhongke"),
    ("瑞丰", "ruifeng"),
    ("新诺", "xinnuo"),
    ("天成", "tiancheng"),
    ("博远", "boyuan"),
    ("金桥", "jinqiao"),
    ("东方", "dongfang"),
    ("永盛", "yongsheng"),
    ("鼎新", "dingxin"),
    ("汇智", "huizhi"),
    ("海川", "haichuan"),
    ("云启", "yunqi"),
    ("嘉禾", "jiahe"),
    ("安泰", "antai"),
    ("宏图", "hongtu"),
    ("锦程", "jincheng"),
]
CN_INDUSTRIES = [
    "科技",
    "信息技术",
    "智能制造",
    "医疗器械",
    "物流",
    "电子",
    "新材料",
    "食品",
    "软件",
    "环保科技",
    "教育科技",
    "汽车零部件",
]
CN_SUFFIXES = ["有限公司", "股份有限公司", "集团有限公司"]

EN_FIRST = [
    "Northwind",
    "Bluepeak",
    "Silverline",
    "Harbor",
    "Evergreen",
    "Redwood",
    "Brightwater",
    "Ironbridge",
    "Summit",
    "Oakridge",
    "Crescent",
    "Pioneer",
    "Granite",
    "Lakeside",
    "Meridian",
    "Atlas",
    "Keystone",
    "Horizon",
]
EN_INDUSTRIES = [
    "Logistics",
    "Systems",
    "Foods",
    "Medical",
    "Robotics",
    "Analytics",
    "Retail",
    "Energy",
    "Software",
    "Components",
]
EN_SUFFIXES = ["Ltd", "Inc.", "GmbH", "Co., Ltd.", "Pte. Ltd."]

CN_SURNAMES = [
    ("王", "wang"),
    ("李", "li"),
    ("张", "zhang"),
    ("刘", "liu"),
    ("陈", "chen"),
    ("杨", "yang"),
    ("黄", "huang"),
    ("赵", "zhao"),
    ("周", "zhou"),
    ("吴", "wu"),
    ("徐", "xu"),
    ("孙", "sun"),
    ("马", "ma"),
    ("朱", "zhu"),
    ("胡", "hu"),
    ("郭", "guo"),
]
CN_GIVEN = [
    ("伟", "wei"),
    ("芳", "fang"),
    ("娜", "na"),
    ("敏", "min"),
    ("静", "jing"),
    ("磊", "lei"),
    ("洋", "yang"),
    ("艳", "yan"),
    ("勇", "yong"),
    ("军", "jun"),
    ("杰", "jie"),
    ("涛", "tao"),
    ("明", "ming"),
    ("超", "chao"),
    ("秀英", "xiuying"),
    ("建华", "jianhua"),
    ("晓东", "xiaodong"),
    ("丽娟", "lijuan"),
]
CN_TITLES = ["采购经理", "IT总监", "总经理", "运营总监", "财务总监", "信息部主管", "副总裁", "项目经理"]

EN_FIRST_NAMES = [
    "Emma",
    "Liam",
    "Olivia",
    "Noah",
    "Sophie",
    "Lucas",
    "Mia",
    "Daniel",
    "Hannah",
    "James",
    "Laura",
    "Felix",
]
EN_LAST_NAMES = ["Smith", "Müller", "Johnson", "Brown", "Schmidt", "Taylor", "Wilson", "Fischer", "Clark", "Lewis"]
EN_TITLES = ["Head of Procurement", "IT Director", "CFO", "Operations Manager", "COO", "Purchasing Lead", "CTO"]

PRODUCTS = [
    ("CRM roll-out", "CRM 实施"),
    ("ERP upgrade", "ERP 升级"),
    ("Warehouse scanners", "仓储扫描设备"),
    ("Annual support contract", "年度维保合同"),
    ("Data platform pilot", "数据平台试点"),
    ("Cloud migration", "云迁移项目"),
    ("Training programme", "培训项目"),
    ("Security audit", "安全审计"),
    ("Production line sensors", "产线传感器"),
    ("Licence expansion", "许可证扩容"),
]

NEEDS = [
    "Replace spreadsheets for {n} sales staff; needs mobile access.",
    "Pilot for {n} seats, integration with existing ERP required.",
    "需要覆盖{n}个门店的统一系统，要求支持中文报表。",
    "Budget approved for Q{q}; wants on-site training for {n} users.",
    "现有系统到期，需要在{q}季度内完成迁移，约{n}个用户。",
]

CALLS = ["Intro call", "Follow-up call", "Pricing call", "电话沟通需求", "电话跟进报价", "Check-in call"]
EMAILS = [
    "Sent company profile",
    "Sent proposal draft",
    "发送产品资料",
    "Sent revised quote",
    "发送合同草稿",
    "Reply to questions",
]
MEETINGS = ["On-site visit", "Demo meeting", "上门拜访", "方案演示会", "Workshop with IT", "商务谈判会议"]
NOTES = [
    "Decision maker is the CFO",
    "客户关注交付周期",
    "Competitor also in the race",
    "预算已获批",
    "Prefers annual billing",
]
TASKS = [
    "Prepare quote",
    "准备报价单",
    "Schedule demo",
    "Send reference list",
    "跟进合同审批",
    "Book follow-up meeting",
]

LOST_NOTES = {
    "price": ["Competitor 15% cheaper", "报价高于预算"],
    "competitor": ["Went with the incumbent vendor", "选择了本地供应商"],
    "no_budget": ["Budget frozen until next year", "预算被砍"],
    "no_decision": ["Contact left the company", "客户长时间未回复"],
    "timing": ["Project postponed", "项目推迟到明年"],
    "requirements": ["Needs on-premise only", "需要定制开发，无法满足"],
    "other": ["Internal reorganisation", "其他原因"],
}
