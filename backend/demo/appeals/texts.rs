//! What seeded appeals say: subjects and texts in Tajik and Russian from templates, names of
//! applicants, and a status that fits the appeal's age.

use rand::Rng;
use rand::seq::IndexedRandom;

use crate::store::reference::{Category, Territory};

const SUBJECTS_TG: &[&str] = &[
    "Дар бораи {category} дар {place}",
    "Шикоят оид ба {category} ({place})",
    "Дархост оид ба ҳалли масъалаи {category}",
    "Мушкилот бо {category} дар {place} ҳал намешавад",
    "Хоҳиши сокинони {place} оид ба {category}",
    "Пешниҳод барои беҳтар кардани {category}",
];

const SUBJECTS_RU: &[&str] = &[
    "По вопросу «{category}» в {place}",
    "Жалоба: {category}, {place}",
    "Просьба решить проблему — {category}",
    "Проблема «{category}» в {place} не решается",
    "Обращение жителей ({place}): {category}",
    "Предложение по улучшению: {category}",
];

const TEXTS_TG: &[&str] = &[
    "Муҳтарам роҳбарият! Мо, сокинони кӯчаи {street}, {place}, {days} рӯз боз бо масъалаи «{category}» рӯ ба рӯ ҳастем. Ба мақомоти маҳаллӣ чанд маротиба муроҷиат кардем, вале ҷавоб нагирифтем. Хоҳиш мекунам, ки чора андешед.",
    "Ман, {name}, дар {place}, кӯчаи {street} зиндагӣ мекунам. Масъалаи «{category}» аз {days} рӯз инҷониб ҳал нашудааст. Лутфан вазъиятро санҷед ва ба ман ҷавоби хаттӣ диҳед.",
    "Бо эҳтиром хабар медиҳам, ки дар {place} вазъи {category} бад шудааст. Кӯдакон ва пиронсолон азият мекашанд. Аз Шумо хоҳиш дорам, ки мутахассисонро фиристед.",
    "Пешниҳод мекунам, ки дар {place} барои беҳтар намудани {category} нақшаи амал тартиб дода шавад. Сокинони кӯчаи {street} омодаанд кумак кунанд.",
];

const TEXTS_RU: &[&str] = &[
    "Уважаемое руководство! Мы, жители улицы {street} ({place}), уже {days} дней сталкиваемся с проблемой «{category}». Неоднократно обращались в местные органы, но ответа не получили. Просим принять меры.",
    "Я, {name}, проживаю в {place}, ул. {street}. Вопрос «{category}» не решается уже {days} дней. Прошу проверить ситуацию и дать письменный ответ.",
    "Сообщаю, что в {place} ухудшилась ситуация: {category}. Страдают дети и пожилые люди. Прошу направить специалистов.",
    "Предлагаю разработать план мероприятий по улучшению: {category}, {place}. Жители улицы {street} готовы помочь.",
];

const STREETS: &[&str] = &[
    "Рӯдакӣ",
    "Исмоили Сомонӣ",
    "Айнӣ",
    "Шотемур",
    "Бохтар",
    "Шерозӣ",
    "Фирдавсӣ",
    "Мирзо Турсунзода",
    "Саъдии Шерозӣ",
    "Борбад",
    "Карамов",
    "Ҳаким Карим",
    "Абӯалӣ ибни Сино",
    "Лоҳутӣ",
];

const GIVEN_NAMES: &[&str] = &[
    "Фаррух",
    "Нигора",
    "Далер",
    "Малика",
    "Сино",
    "Зарина",
    "Бахтиёр",
    "Мадина",
    "Рустам",
    "Шаҳло",
    "Фирӯз",
    "Гулнора",
    "Ҷамшед",
    "Дилором",
    "Комрон",
    "Парвина",
    "Алишер",
    "Манижа",
    "Суҳроб",
    "Тахмина",
];

const FAMILY_NAMES: &[&str] = &[
    "Раҳимов",
    "Каримов",
    "Саидов",
    "Назаров",
    "Шарипов",
    "Юсуфов",
    "Ҳакимов",
    "Одинаев",
    "Сафаров",
    "Мирзоев",
    "Қодиров",
    "Бобоев",
    "Аминов",
    "Султонов",
    "Ғаффоров",
    "Давлатов",
];

const ASCII_NAMES: &[&str] =
    &["farrukh", "nigora", "daler", "malika", "sino", "zarina", "bakhtiyor", "madina", "rustam", "shahlo"];

/// A subject and a text in Tajik or Russian about `category` in `place`.
pub fn compose(
    rng: &mut impl Rng,
    russian: bool,
    category: &Category,
    place: &Territory,
) -> (String, String) {
    let (subjects, texts, category_name, place_name) = if russian {
        (SUBJECTS_RU, TEXTS_RU, category.name_ru.to_lowercase(), place.name_ru.as_str())
    } else {
        (SUBJECTS_TG, TEXTS_TG, category.name_tg.to_lowercase(), place.name_tg.as_str())
    };
    let fill = |template: &str, rng: &mut dyn rand::RngCore| {
        template
            .replace("{category}", &category_name)
            .replace("{place}", place_name)
            .replace("{street}", STREETS.choose(rng).copied().unwrap_or("Рӯдакӣ"))
            .replace("{days}", &rng.random_range(3..90).to_string())
            .replace("{name}", &person(rng).0)
    };
    let subject = fill(subjects.choose(rng).copied().unwrap_or_default(), rng);
    let text = fill(texts.choose(rng).copied().unwrap_or_default(), rng);
    (subject.chars().take(300).collect(), text)
}

/// A full name and an email address.
pub fn person(rng: &mut (impl Rng + ?Sized)) -> (String, String) {
    let given = rng.random_range(0..GIVEN_NAMES.len());
    let family = FAMILY_NAMES.choose(rng).copied().unwrap_or("Раҳимов");
    let female = given % 2 == 1;
    let name = format!("{} {family}{}", GIVEN_NAMES[given], if female { "а" } else { "" });
    let ascii = ASCII_NAMES[given % ASCII_NAMES.len()];
    let email = format!("{ascii}.{}@example.tj", rng.random_range(1000..1_000_000));
    (name, email)
}

/// The final answer's text.
pub fn answer(russian: bool) -> &'static str {
    if russian {
        "Ваше обращение рассмотрено. Соответствующим службам поручено устранить недостатки; о результатах вы будете уведомлены."
    } else {
        "Муроҷиати Шумо баррасӣ шуд. Ба хадамоти дахлдор супориш дода шуд, ки камбудиҳоро бартараф созанд; аз натиҷа Шуморо огоҳ мекунем."
    }
}

/// A status plausible for an appeal filed `age_days` ago: old ones are mostly settled, new
/// ones mostly open.
pub fn status_for_age(rng: &mut impl Rng, age_days: i64) -> &'static str {
    let roll: f64 = rng.random();
    let table: &[(f64, &'static str)] = if age_days > 30 {
        &[
            (0.72, "answered"),
            (0.82, "dismissed"),
            (0.87, "withdrawn"),
            (0.95, "in_progress"),
            (1.0, "registered"),
        ]
    } else {
        &[
            (0.35, "registered"),
            (0.70, "in_progress"),
            (0.80, "awaiting_citizen"),
            (0.93, "answered"),
            (0.97, "withdrawn"),
            (1.0, "dismissed"),
        ]
    };
    table.iter().find(|(limit, _)| roll < *limit).map_or("registered", |(_, status)| status)
}
