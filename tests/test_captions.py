"""Photo captions split into caption and credit."""

from __future__ import annotations

import pytest

from crawler.captions import clean_credit, looks_like_credit, split_credit

LAVROV = (
    "Sergei Lavrov smokes as he walks to the second session of the G20 foreign ministers meeting"
)


@pytest.mark.parametrize(
    ("text", "caption", "credit"),
    [
        # Parenthesised credits.
        (f"{LAVROV} (Manish Swarup/AP)", LAVROV, "Manish Swarup/AP"),
        (f"{LAVROV} (Manish Swarup/AP).", LAVROV, "Manish Swarup/AP"),
        ("Crowds gather in Trafalgar Square (PA)", "Crowds gather in Trafalgar Square", "PA"),
        ("Smoke over Khartoum (Reuters)", "Smoke over Khartoum", "Reuters"),
        (
            "Kim Jong Un at a launch site (KCNA via AP)",
            "Kim Jong Un at a launch site",
            "KCNA via AP",
        ),
        (
            "The summit in Bali (AP Photo/Dita Alangkara)",
            "The summit in Bali",
            "AP Photo/Dita Alangkara",
        ),
        ("Troops on parade (Photo: Jane Doe/EPA)", "Troops on parade", "Jane Doe/EPA"),
        (
            "Rescuers at work (Photo by Ali Khan/Getty Images)",
            "Rescuers at work",
            "Photo by Ali Khan/Getty Images",
        ),
        (
            "Protesters in Lima (Paolo Aguilar/EPA-EFE)",
            "Protesters in Lima",
            "Paolo Aguilar/EPA-EFE",
        ),
        # Labelled credits.
        (
            "Rescue workers in Dnipro on Monday. Photograph: Olena Marchenko/AFP/Getty Images",
            "Rescue workers in Dnipro on Monday.",
            "Olena Marchenko/AFP/Getty Images",
        ),
        ("A flooded street. Photo: Rahim Khan", "A flooded street.", "Rahim Khan"),
        ("Ships at anchor. Picture: Jane Doe", "Ships at anchor.", "Jane Doe"),
        ("A map of the region. Image: Harbour Times", "A map of the region.", "Harbour Times"),
        (
            "Election posters in Abuja. Credit: John Smith",
            "Election posters in Abuja.",
            "John Smith",
        ),
        (
            "The strike affected two terminals. Graphic: Harbour Times",
            "The strike affected two terminals.",
            "Harbour Times",
        ),
        (
            "Manifestantes en Lima. Foto: Paolo Aguilar / EFE",
            "Manifestantes en Lima.",
            "Paolo Aguilar / EFE",
        ),
        (
            "Des délégués à Addis-Abeba. (Photo : Tesfaye Bekele/AFP)",
            "Des délégués à Addis-Abeba.",
            "Tesfaye Bekele/AFP",
        ),
        ("Families in a shelter. © Rahim Khan", "Families in a shelter.", "Rahim Khan"),
        ("Families in a shelter © Rahim Khan 2023", "Families in a shelter", "Rahim Khan 2023"),
        # Trailing agency credits without a label.
        (
            "A damaged building in Kyiv. Sergei Supinsky/AFP via Getty Images",
            "A damaged building in Kyiv.",
            "Sergei Supinsky/AFP via Getty Images",
        ),
        (
            "Protesters clash with police outside parliament. Reuters",
            "Protesters clash with police outside parliament.",
            "Reuters",
        ),
        (
            "Firefighters at the scene Jane Doe/Reuters",
            "Firefighters at the scene",
            "Jane Doe/Reuters",
        ),
        ("Pope Francis waves to pilgrims | AFP", "Pope Francis waves to pilgrims", "AFP"),
        ("Voters queue in Lagos — Sunday Alamba/AP", "Voters queue in Lagos", "Sunday Alamba/AP"),
        (
            "Flooded fields near Sylhet, June 20. J. Doe/AP",
            "Flooded fields near Sylhet, June 20.",
            "J. Doe/AP",
        ),
        # Whole text is a credit.
        ("REUTERS/Mehmet Yilmaz", None, "REUTERS/Mehmet Yilmaz"),
        ("Getty Images", None, "Getty Images"),
        ("Photograph: Reuters", None, "Reuters"),
        ("© Harbour Times", None, "Harbour Times"),
        # Not credits: stays in the caption.
        ("Vladimir Putin (left) and Xi Jinping", "Vladimir Putin (left) and Xi Jinping", None),
        ("Vladimir Putin and Xi Jinping (left)", "Vladimir Putin and Xi Jinping (left)", None),
        ("Antony Blinken in Delhi (file photo)", "Antony Blinken in Delhi (file photo)", None),
        (
            "The two terminals on the Scheldt (pictured)",
            "The two terminals on the Scheldt (pictured)",
            None,
        ),
        ("The minister (centre) arrives", "The minister (centre) arrives", None),
        ("Maria Zakharova (Jane Doe)", "Maria Zakharova (Jane Doe)", None),
        ("Wheat prices (in US dollars per tonne)", "Wheat prices (in US dollars per tonne)", None),
        (
            "The Associated Press headquarters in New York.",
            "The Associated Press headquarters in New York.",
            None,
        ),
        ("A view of the Reuters building", "A view of the Reuters building", None),
        (
            "Delegates vote on the AP resolution in Paris",
            "Delegates vote on the AP resolution in Paris",
            None,
        ),
        (
            "The Kyiv metro at night. Residents shelter there.",
            "The Kyiv metro at night. Residents shelter there.",
            None,
        ),
        (
            "Members of the PA and Hamas meet in Cairo",
            "Members of the PA and Hamas meet in Cairo",
            None,
        ),
        ("The 9/11 memorial in New York", "The 9/11 memorial in New York", None),
        (
            "Shelling near the Israel/Lebanon border",
            "Shelling near the Israel/Lebanon border",
            None,
        ),
        (
            "Demonstrators march to the palace. Jane Doe",
            "Demonstrators march to the palace. Jane Doe",
            None,
        ),
        (
            "A man walks past a mural in Kyiv, Ukraine, February 24, 2023."
            " REUTERS/Valentyn Ogirenko",
            "A man walks past a mural in Kyiv, Ukraine, February 24, 2023.",
            "REUTERS/Valentyn Ogirenko",
        ),
        # Whitespace and empties.
        ("  Smoke  over\n Khartoum  (Reuters) ", "Smoke over Khartoum", "Reuters"),
        ("", None, None),
        ("   ", None, None),
        ("Photo:", None, None),
    ],
)
def test_split_credit(text: str, caption: str | None, credit: str | None) -> None:
    assert split_credit(text) == (caption, credit)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Manish Swarup/AP", True),
        ("AP", True),
        ("Getty Images", True),
        ("EPA-EFE", True),
        ("Jane Doe/The Harbour Times", True),
        ("Photo: Jane Doe", True),
        ("Courtesy of the family", False),
        ("Courtesy of Jane Doe", True),
        ("left", False),
        ("file photo", False),
        ("Jane Doe", False),
        ("in US dollars per tonne", False),
        ("capital", False),
        ("", False),
        ("A very long sentence with many words that goes on and on like a caption does/AP", False),
    ],
)
def test_looks_like_credit(text: str, expected: bool) -> None:
    assert looks_like_credit(text) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Photograph: Jane Doe/Getty Images", "Jane Doe/Getty Images"),
        ("(Reuters)", "Reuters"),
        ("© Harbour Times.", "Harbour Times"),
        ("  Credit :  John Smith ", "John Smith"),
        ("REUTERS/Mehmet Yilmaz", "REUTERS/Mehmet Yilmaz"),
        ("Photo:", None),
        ("", None),
    ],
)
def test_clean_credit(text: str, expected: str | None) -> None:
    assert clean_credit(text) == expected
